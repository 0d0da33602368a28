/**
 * The account actor (issue 3): one per account, key `account:<id>`. A pure transition over
 * AccountState (protocol.ts); every change of what the data path needs is published to the
 * compacted `directory` topic after the transition, derived from the states before and after.
 * Handlers live by concern: billing.ts (lifecycle, plans, periods), usage.ts (quota),
 * team.ts (members, SMTP users, API keys), domains.ts (sending domains).
 */
import { DIRECTORY_TOPIC, DIRECTORY_TOPIC_SPEC, encodeEntry } from "../../shared/directory/entries.ts";
import type { AccountMsg, AccountState } from "../../shared/model/account/protocol.ts";
import { accountOutputTopics } from "../../shared/model/account/topics.ts";
import type { Behavior } from "../behavior.ts";
import { ACCOUNT_ACTOR_TYPE } from "../keys.ts";
import * as billing from "./billing.ts";
import * as credit from "./credit.ts";
import { directoryChanges } from "./directory.ts";
import * as domains from "./domains.ts";
import * as sessions from "./sessions.ts";
import { type AccountBehaviorOptions, type Ctx, fail, initialAccount, ok } from "./state.ts";
import * as team from "./team.ts";
import * as usage from "./usage.ts";

export type { AccountBehaviorOptions } from "./state.ts";

function dispatch(s: AccountState, msg: AccountMsg, ctx: Ctx, o: AccountBehaviorOptions): AccountState {
  switch (msg.t) {
    case "create":
      return billing.create(s, msg, ctx, o);
    case "get":
      return ok(ctx, s, s);
    case "changePlan":
      return billing.changePlan(s, msg, ctx, o);
    case "cancel":
      return billing.cancel(s, msg, ctx, o);
    case "setStatus":
      return billing.setStatus(s, msg, ctx, o);
    case "periodEnd":
      return billing.periodEnd(s, msg, ctx, o);
    case "eraseDue":
      return billing.eraseDue(s, msg, ctx, o);
    case "reserveQuota":
      return usage.reserveQuota(s, msg, ctx, o);
    case "releaseQuota":
      return usage.releaseQuota(s, msg, ctx, o);
    case "grantCredit":
      return credit.grantCredit(s, msg, ctx, o);
    case "settleCredit":
      return credit.settleCredit(s, msg, ctx, o);
    case "acquireSession":
      return sessions.acquireSession(s, msg, ctx, o);
    case "renewSession":
      return sessions.renewSession(s, msg, ctx, o);
    case "releaseSession":
      return sessions.releaseSession(s, msg, ctx, o);
    case "sessionCredit":
      return sessions.sessionCredit(s, msg, ctx, o);
    case "addMember":
      return team.addMember(s, msg, ctx, o);
    case "updateMember":
      return team.updateMember(s, msg, ctx, o);
    case "removeMember":
      return team.removeMember(s, msg, ctx, o);
    case "createSmtpUser":
      return team.createSmtpUser(s, msg, ctx, o);
    case "resetSmtpUser":
      return team.resetSmtpUser(s, msg, ctx, o);
    case "deleteSmtpUser":
      return team.deleteSmtpUser(s, msg, ctx, o);
    case "createApiKey":
      return team.createApiKey(s, msg, ctx, o);
    case "revokeApiKey":
      return team.revokeApiKey(s, msg, ctx, o);
    case "addDomain":
      return domains.addDomain(s, msg, ctx, o);
    case "domainChecked":
      return domains.domainChecked(s, msg, ctx, o);
    case "trustDomain":
      return domains.trustDomain(s, msg, ctx, o);
    case "deleteDomain":
      return domains.deleteDomain(s, msg, ctx, o);
    case "reverifyDue":
      return domains.reverifyDue(s, msg, ctx, o);
    default:
      return fail(ctx, s, "invalid_request", `unknown message ${JSON.stringify((msg as { t?: unknown }).t)}`);
  }
}

/** Messages that make sense for an account that does not exist (yet, or any more). */
const WITHOUT_ACCOUNT = new Set<string>(["create", "periodEnd", "eraseDue", "reverifyDue"]);

export function createAccountBehavior(o: AccountBehaviorOptions): Behavior<AccountState, AccountMsg> {
  return {
    type: ACCOUNT_ACTOR_TYPE,
    outputs: [DIRECTORY_TOPIC_SPEC, ...accountOutputTopics(o.partitions)],
    initial: initialAccount,
    receive(state, msg, ctx) {
      if (typeof msg !== "object" || msg === null || typeof msg.t !== "string") {
        return fail(ctx, state, "invalid_request", "not an account message");
      }
      if (!state.exists && !WITHOUT_ACCOUNT.has(msg.t)) {
        return fail(ctx, state, "account_not_found", `no account ${ctx.id}`);
      }
      const current = billing.rollOver(state, ctx);
      const next = dispatch(current, msg, ctx, o);
      for (const c of directoryChanges(state, next)) ctx.emit(DIRECTORY_TOPIC, c.key, encodeEntry(c.entry));
      return next;
    },
  };
}
