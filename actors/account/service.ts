/**
 * The account service: what the HTTP API and the CLI call. It does the slow and random parts
 * outside the actor (password hashing, username/password/API key generation), asks the account
 * actor, and returns plain views (views.ts) or throws `AccountError(code, message)`.
 * Authentication lookups (SMTP, API keys, member sign-in) read the node's DirectoryView
 * (auth.ts), so they need no round trip to the actor; changes wait (bounded) until this node's
 * view shows them, so a caller can use a key or password right after creating it.
 */

import { explain } from "../../shared/bounce/classify.ts";
import type { ReasonClass } from "../../shared/bounce/rules.ts";
import { apiKeyKey, smtpUserKey } from "../../shared/directory/entries.ts";
import { isValidTimeZone } from "../../shared/model/account/period.ts";
import { isScope } from "../../shared/model/account/permissions.ts";
import type {
  AccountMsg,
  AccountReply,
  AccountReplyValues,
  AccountState,
  DomainRecordState,
  Plan,
  QuotaGrant,
  Scope,
  SendingDomain,
  SettableAccountStatus,
} from "../../shared/model/account/protocol.ts";
import {
  type AccountView,
  type ApiKeyPrincipal,
  type ApiKeyView,
  accountView,
  apiKeyView,
  type Cancellation,
  type CreatedApiKey,
  type DomainView,
  domainView,
  type MemberPrincipal,
  type MemberView,
  memberView,
  type PlanChange,
  type QuotaView,
  quotaView,
  type SmtpCredentials,
  type SmtpPrincipal,
  type SmtpUserView,
  smtpUserView,
} from "../../shared/model/account/views.ts";
import { hashPassword } from "../../shared/security/password.ts";
import {
  generateAccountId,
  generateApiKey,
  generatePassword,
  generateSmtpUsername,
  keyedHash,
} from "../../shared/security/tokens.ts";
import { accountKey } from "../keys.ts";
import { DirectoryAuth } from "./auth.ts";
import { directoryEntries } from "./directory.ts";
import { AccountError } from "./errors.ts";
import type { AccountServiceOptions, CreateAccountInput, MemberInput, MemberPatch } from "./inputs.ts";
import { findPlan } from "./plans.ts";
import { QuotaGateway } from "./quota-gateway.ts";
import {
  decodeCursor,
  type LiftFilter,
  normalizeAddress,
  type SuppressionEntry,
  SuppressionService,
} from "./suppression.ts";

export { AccountError } from "./errors.ts";

function validAccountId(accountId: string): void {
  if (typeof accountId !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(accountId)) {
    throw new AccountError("account_not_found", `no account ${JSON.stringify(accountId)}`);
  }
}

export type { AccountServiceOptions, Asker, CreateAccountInput, MemberInput, MemberPatch } from "./inputs.ts";

const DIRECTORY_SETTLE_MS = 2_000;

/** A suppressed recipient as the API shows it (D8). */
export interface SuppressionView {
  address: string;
  reason: string;
  source: SuppressionEntry["source"];
  /** When it was suppressed (ms). */
  suppressedAt: number;
  recipientId?: string;
  /** The reply of the hard bounce that added it (issue 15). */
  remoteReply?: string;
  /** The classifier's class and rule, and what the rule saw (issue 15). */
  class?: ReasonClass;
  rule?: string;
  explanation?: string;
}

const suppressionView = (e: SuppressionEntry): SuppressionView => ({
  address: e.address,
  reason: e.reason,
  source: e.source,
  suppressedAt: e.at,
  ...(e.recipientId ? { recipientId: e.recipientId } : {}),
  ...(e.reply !== undefined ? { remoteReply: e.reply } : {}),
  ...(e.decision
    ? {
        class: e.decision.class,
        rule: e.decision.rule,
        explanation: explain({ result: "hard", ...e.decision }),
      }
    : {}),
});

export const SUPPRESSION_PAGE_MAX = 1000;

export class AccountService {
  private auth: DirectoryAuth | undefined;

  /** The one gateway to the suppression actors (D8). */
  readonly suppressions: SuppressionService;
  /** The one gateway to the quota (S8). */
  readonly quotas: QuotaGateway;

  constructor(readonly options: AccountServiceOptions) {
    this.suppressions = new SuppressionService(options.actors, options.askTimeoutMs);
    this.quotas = new QuotaGateway(options.actors, options.askTimeoutMs);
  }

  // — accounts, plans, billing (C1, C6) —

  listPlans(): Plan[] {
    return this.options.plans.map((p) => ({ ...p }));
  }

  async createAccount(input: CreateAccountInput): Promise<AccountView> {
    const plan = this.plan(input.plan);
    const timezone = input.timezone ?? "UTC";
    if (!isValidTimeZone(timezone))
      throw new AccountError("invalid_request", `unknown time zone ${timezone}`);
    const accountId = input.accountId ?? generateAccountId();
    const state = await this.ask<"create">(accountId, { t: "create", name: input.name, plan, timezone });
    await this.settle(() => this.options.directory?.account(accountId) !== undefined);
    return accountView(state, this.now());
  }

  async getAccount(accountId: string): Promise<AccountView> {
    return accountView(await this.state(accountId), this.now());
  }

  async state(accountId: string): Promise<AccountState> {
    return this.ask<"get">(accountId, { t: "get" });
  }

  async changePlan(accountId: string, plan: string): Promise<PlanChange> {
    const r = await this.ask<"changePlan">(accountId, { t: "changePlan", plan: this.plan(plan) });
    return {
      plan,
      effective: r.effective,
      effectiveAt: r.effectiveAt,
      account: accountView(r.account, this.now()),
    };
  }

  async cancel(accountId: string): Promise<Cancellation> {
    return this.ask<"cancel">(accountId, { t: "cancel" });
  }

  async setStatus(accountId: string, status: SettableAccountStatus): Promise<AccountView> {
    const state = await this.ask<"setStatus">(accountId, { t: "setStatus", status });
    await this.settle(() => this.options.directory?.account(accountId)?.status === status);
    return accountView(state, this.now());
  }

  async quota(accountId: string): Promise<QuotaView> {
    return quotaView((await this.state(accountId)).period);
  }

  async billingHistory(accountId: string): Promise<AccountState["history"]> {
    const s = await this.state(accountId);
    return s.status === "cancelled" ? [...s.history] : [...s.history, s.period];
  }

  // — members (C2) —

  async listMembers(accountId: string): Promise<MemberView[]> {
    return Object.values((await this.state(accountId)).members).map(memberView);
  }

  async addMember(accountId: string, input: MemberInput): Promise<MemberView> {
    const passwordHash = input.password ? await hashPassword(input.password) : undefined;
    const m = await this.ask<"addMember">(accountId, {
      t: "addMember",
      email: input.email,
      role: input.role,
      permissions: input.permissions ?? [],
      ...(passwordHash ? { passwordHash } : {}),
    });
    await this.settle(
      () => this.options.directory?.member(accountId, m.email)?.passwordHash === m.passwordHash,
    );
    return memberView(m);
  }

  async updateMember(accountId: string, email: string, patch: MemberPatch): Promise<MemberView> {
    const passwordHash = patch.password ? await hashPassword(patch.password) : undefined;
    const m = await this.ask<"updateMember">(accountId, {
      t: "updateMember",
      email,
      ...(patch.role ? { role: patch.role } : {}),
      ...(patch.permissions ? { permissions: patch.permissions } : {}),
      ...(passwordHash ? { passwordHash } : {}),
    });
    await this.settle(() => {
      const e = this.options.directory?.member(accountId, m.email);
      return e?.role === m.role && e.passwordHash === m.passwordHash;
    });
    return memberView(m);
  }

  async removeMember(accountId: string, email: string): Promise<void> {
    await this.ask<"removeMember">(accountId, { t: "removeMember", email });
    await this.settle(() => this.options.directory?.member(accountId, email) === undefined);
  }

  /** Dashboard sign-in: null when no membership matches. With several accounts, pass `accountId`. */
  signIn(email: string, password: string, accountId?: string): Promise<MemberPrincipal | null> {
    return this.authenticator().signIn(email, password, accountId);
  }

  // — SMTP users (C3) —

  async listSmtpUsers(accountId: string): Promise<SmtpUserView[]> {
    return Object.values((await this.state(accountId)).smtpUsers).map((u) =>
      smtpUserView(u, this.options.connection),
    );
  }

  async getSmtpUser(accountId: string, username: string): Promise<SmtpUserView> {
    const u = (await this.state(accountId)).smtpUsers[username];
    if (!u) throw new AccountError("smtp_user_not_found", `no SMTP user ${username}`);
    return smtpUserView(u, this.options.connection);
  }

  async createSmtpUser(
    accountId: string,
    input: { name?: string } = {},
  ): Promise<SmtpCredentials & SmtpUserView> {
    const username = generateSmtpUsername();
    const password = generatePassword();
    const passwordHash = await hashPassword(password);
    const u = await this.ask<"createSmtpUser">(accountId, {
      t: "createSmtpUser",
      username,
      name: input.name ?? "",
      passwordHash,
    });
    await this.settle(() => this.options.directory?.smtpUser(username)?.generation === u.generation);
    return { ...smtpUserView(u, this.options.connection), username, password };
  }

  async resetSmtpUser(accountId: string, username: string): Promise<SmtpCredentials> {
    const password = generatePassword();
    const passwordHash = await hashPassword(password);
    const u = await this.ask<"resetSmtpUser">(accountId, { t: "resetSmtpUser", username, passwordHash });
    await this.settle(() => this.options.directory?.smtpUser(username)?.generation === u.generation);
    return { username, password };
  }

  async deleteSmtpUser(accountId: string, username: string): Promise<void> {
    await this.ask<"deleteSmtpUser">(accountId, { t: "deleteSmtpUser", username });
    await this.settle(() => this.options.directory?.smtpUser(username) === undefined);
  }

  /** S2: checks a username/password against the directory view; null when wrong. */
  authenticateSmtp(username: string, password: string): Promise<SmtpPrincipal | null> {
    return this.authenticator().smtp(username, password);
  }

  // — sending domains (C4) —

  async listDomains(accountId: string): Promise<DomainView[]> {
    return Object.values((await this.state(accountId)).domains).map(domainView);
  }

  async getDomain(accountId: string, domain: string): Promise<DomainView> {
    return domainView(await this.sendingDomain(accountId, domain));
  }

  async sendingDomain(accountId: string, domain: string): Promise<SendingDomain> {
    const d = (await this.state(accountId)).domains[domain.trim().toLowerCase().replace(/\.$/, "")];
    if (!d) throw new AccountError("domain_not_found", `no sending domain ${domain}`);
    return d;
  }

  async addDomain(accountId: string, domain: SendingDomain): Promise<DomainView> {
    const owner = this.options.directory?.sendingDomain(domain.domain ?? "")?.accountId;
    if (owner !== undefined && owner !== accountId) {
      throw new AccountError("domain_exists", `${domain.domain} is a sending domain of another account`);
    }
    const d = await this.ask<"addDomain">(accountId, { t: "addDomain", domain });
    await this.settle(() => this.options.directory?.sendingDomain(d.domain) !== undefined);
    return domainView(d);
  }

  async domainChecked(
    accountId: string,
    domain: string,
    records: DomainRecordState[],
    at?: number,
  ): Promise<DomainView> {
    const d = await this.ask<"domainChecked">(accountId, {
      t: "domainChecked",
      domain,
      records,
      at: at ?? this.now(),
    });
    await this.settleDomain(accountId, d);
    return domainView(d);
  }

  async trustDomain(accountId: string, domain: string, by: string): Promise<DomainView> {
    const d = await this.ask<"trustDomain">(accountId, { t: "trustDomain", domain, by });
    await this.settleDomain(accountId, d);
    return domainView(d);
  }

  async deleteDomain(accountId: string, domain: string): Promise<void> {
    await this.ask<"deleteDomain">(accountId, { t: "deleteDomain", domain });
    await this.settle(() => this.options.directory?.sendingDomain(domain) === undefined);
  }

  // — API keys (C5) —

  async listApiKeys(accountId: string): Promise<ApiKeyView[]> {
    return Object.values((await this.state(accountId)).apiKeys).map(apiKeyView);
  }

  async createApiKey(accountId: string, input: { label?: string; scopes: Scope[] }): Promise<CreatedApiKey> {
    const bad = input.scopes.find((s) => !isScope(s));
    if (bad !== undefined) throw new AccountError("invalid_request", `unknown scope ${bad}`);
    const { id, key } = generateApiKey();
    const hash = keyedHash(this.options.hmacKey, key);
    const k = await this.ask<"createApiKey">(accountId, {
      t: "createApiKey",
      key: { id, label: input.label ?? "", hash, scopes: input.scopes, createdAt: this.now() },
    });
    await this.settle(() => this.options.directory?.apiKey(id) !== undefined);
    return { ...apiKeyView(k), key };
  }

  async revokeApiKey(accountId: string, keyId: string): Promise<void> {
    await this.ask<"revokeApiKey">(accountId, { t: "revokeApiKey", id: keyId });
    await this.settle(() => this.options.directory?.apiKey(keyId) === undefined);
  }

  /** The account and scopes of a `pk_<id>_<secret>` key; null when unknown, wrong or revoked. */
  authenticateApiKey(key: string): Promise<ApiKeyPrincipal | null> {
    return this.authenticator().apiKey(key);
  }

  // — suppression list (D8): the account's `suppression:<id>` actor —

  /** Newest first; `cursor` is the `next` of the previous page. */
  async listSuppressions(
    accountId: string,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<{ suppressions: SuppressionView[]; next?: string }> {
    const limit = page.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > SUPPRESSION_PAGE_MAX)
      throw new AccountError("invalid_request", `limit: an integer from 1 to ${SUPPRESSION_PAGE_MAX}`);
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    if (page.cursor !== undefined && !after)
      throw new AccountError("invalid_request", "cursor: not a cursor of this list");
    await this.state(accountId);
    const r = await this.suppressions.page(accountId, limit, after);
    return { suppressions: r.entries.map(suppressionView), ...(r.next ? { next: r.next } : {}) };
  }

  /** Idempotent: an address already listed keeps its entry (`created: false`). */
  async addSuppression(
    accountId: string,
    input: { address: string; reason?: string },
  ): Promise<{ suppression: SuppressionView; created: boolean }> {
    const address = normalizeAddress(input.address);
    if (!address) throw new AccountError("invalid_request", `address: not a mailbox: ${input.address}`);
    await this.state(accountId);
    const r = await this.suppressions.add(
      accountId,
      address,
      input.reason?.trim() || "added manually",
      this.now(),
    );
    return { suppression: suppressionView(r.entry), created: r.created };
  }

  /**
   * Bulk lift (issue 15): removes the account's entries the filter matches — by class, rule,
   * source and time — and says how many; with `dryRun`, only counts. At least one criterion.
   */
  async liftSuppressions(
    accountId: string,
    filter: LiftFilter,
  ): Promise<{ lifted: number; dryRun: boolean }> {
    const { dryRun, ...criteria } = filter;
    if (Object.values(criteria).every((v) => v === undefined))
      throw new AccountError(
        "invalid_request",
        "filter: give at least one of class, rule, source, since, until",
      );
    await this.state(accountId);
    const r = await this.suppressions.lift(accountId, filter);
    return { lifted: r.lifted, dryRun: dryRun === true };
  }

  /** The removed entry; null when the address was not listed. */
  async removeSuppression(accountId: string, address: string): Promise<SuppressionView | null> {
    await this.state(accountId);
    const gone = await this.suppressions.remove(accountId, address);
    return gone ? suppressionView(gone) : null;
  }

  // — quota (S8, S14) —

  async reserveQuota(accountId: string, n: number, opts: { test?: boolean } = {}): Promise<QuotaGrant> {
    validAccountId(accountId);
    return this.quotas.reserve(accountId, n, opts);
  }

  async releaseQuota(accountId: string, n: number, periodStart?: number): Promise<QuotaGrant> {
    validAccountId(accountId);
    return this.quotas.release(accountId, n, periodStart);
  }

  // — helpers —

  private async ask<K extends keyof AccountReplyValues>(
    accountId: string,
    msg: Extract<AccountMsg, { t: K }>,
  ): Promise<AccountReplyValues[K]> {
    validAccountId(accountId);
    const r = await this.options.actors.ask<AccountReply<AccountReplyValues[K]>>(
      accountKey(accountId),
      msg,
      this.options.askTimeoutMs,
    );
    if (!r.ok) throw new AccountError(r.code, r.message);
    return r.value;
  }

  private plan(name: string): Plan {
    const plan = findPlan(this.options.plans, name);
    if (!plan) {
      throw new AccountError(
        "plan_not_found",
        `no plan ${JSON.stringify(name)}; plans: ${this.options.plans.map((p) => p.name).join(", ")}`,
      );
    }
    return plan;
  }

  private authenticator(): DirectoryAuth {
    if (!this.options.directory) throw new Error("AccountService: authentication needs a DirectoryView");
    this.auth ??= new DirectoryAuth({
      directory: this.options.directory,
      hmacKey: this.options.hmacKey,
      owner: {
        smtpUser: async (accountId, username) => {
          const e = (await this.ownEntries(accountId)).get(smtpUserKey(username));
          return e?.kind === "smtp-user" ? e : undefined;
        },
        apiKey: async (accountId, keyId) => {
          const e = (await this.ownEntries(accountId)).get(apiKeyKey(keyId));
          return e?.kind === "api-key" ? e : undefined;
        },
      },
      ...(this.options.authSyncTimeoutMs !== undefined
        ? { syncTimeoutMs: this.options.authSyncTimeoutMs }
        : {}),
    });
    return this.auth;
  }

  /** The account's directory entries as its actor holds them now; none for an account that is gone. */
  private async ownEntries(accountId: string): Promise<ReturnType<typeof directoryEntries>> {
    try {
      return directoryEntries(await this.state(accountId));
    } catch (e) {
      if (e instanceof AccountError && e.code === "account_not_found") return new Map();
      throw e;
    }
  }

  /** Read-your-writes: waits (bounded) until this node's directory view shows a change. */
  private async settle(predicate: () => boolean): Promise<void> {
    if (this.options.directory) await this.options.directory.waitFor(predicate, DIRECTORY_SETTLE_MS);
  }

  private settleDomain(accountId: string, d: SendingDomain): Promise<void> {
    return this.settle(() => {
      const e = this.options.directory?.sendingDomain(d.domain);
      const a = this.options.directory?.account(accountId);
      return (
        e?.status === d.status &&
        (d.status === "verified") === (a?.verifiedDomains.includes(d.domain) ?? false)
      );
    });
  }

  private now(): number {
    return this.options.clock?.now() ?? Date.now();
  }
}
