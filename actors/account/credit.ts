/**
 * S8 as credit (issue 16): the account actor grants a node a block of the period's quota, counted
 * in `period.used` at once — the grant is the reservation, so nodes reserving locally from their
 * credit can never overshoot, together or alone. The node hands back the unused part (`settle`,
 * with its next grant or on its own); a credit not handed back by its expiry (the node died) is
 * pruned and stays counted: at most one block per dead node, on the safe side, until the period
 * ends. Expired credits are pruned on every credit message (no timer), as session leases are.
 */
import type {
  AccountMsg,
  AccountState,
  CreditGrant,
  QuotaCredit,
} from "../../shared/model/account/protocol.ts";
import { sendingAllowed } from "../../shared/model/account/views.ts";
import { creditSize, isCount, release, reserve } from "./quota.ts";
import { type Ctx, fail, type Handler, ok } from "./state.ts";
import { counted, grant } from "./usage.ts";

type Msg<T extends AccountMsg["t"]> = Extract<AccountMsg, { t: T }>;

const MAX_TTL_MS = 60 * 60 * 1000;

/** Credits still alive at `now`, of the current period. */
function live(s: AccountState, now: number): Record<string, QuotaCredit> {
  const out: Record<string, QuotaCredit> = {};
  for (const [id, c] of Object.entries(s.credits ?? {}))
    if (c.expiresAt > now && c.periodStart === s.period.start) out[id] = c;
  return out;
}

/** Hands back `unused` of credit `leaseId` (at most what it granted) and forgets it. */
function settle(s: AccountState, leaseId: string, unused: number, now: number): AccountState {
  const credits = live(s, now);
  const c = credits[leaseId];
  delete credits[leaseId];
  const used = c ? release(s.period.used, Math.min(unused, c.granted)) : s.period.used;
  return { ...s, period: { ...s.period, used }, credits };
}

export const grantCredit: Handler<Msg<"grantCredit">> = (s, msg, ctx) => {
  if (!isCount(msg.need) || !isCount(msg.block) || msg.need === 0)
    return fail(ctx, s, "invalid_request", "need must be a positive integer, block a non-negative one");
  if (typeof msg.leaseId !== "string" || msg.leaseId === "" || !(msg.ttlMs > 0 && msg.ttlMs <= MAX_TTL_MS))
    return fail(ctx, s, "invalid_request", "a credit needs a lease id and a ttl up to one hour");
  if (msg.settle && !isCount(msg.settle.unused))
    return fail(ctx, s, "invalid_request", "unused must be a non-negative integer");
  const base = msg.settle
    ? settle(s, msg.settle.leaseId, msg.settle.unused, ctx.now)
    : { ...s, credits: live(s, ctx.now) };
  const size = creditSize(base.period, msg.need, msg.block);
  const r = reserve(base.period, size, { active: sendingAllowed(base, ctx.now) });
  const next = counted(base, r.used, ctx);
  const reply: CreditGrant = grant(next, r.granted, r.reason);
  if (size > msg.need && r.granted === size) {
    const validMs = Math.min(msg.ttlMs, next.period.end - ctx.now);
    const credit: QuotaCredit = {
      granted: size,
      periodStart: next.period.start,
      expiresAt: ctx.now + validMs,
    };
    return ok(
      ctx,
      { ...next, credits: { ...next.credits, [msg.leaseId]: credit } },
      {
        ...reply,
        leaseId: msg.leaseId,
        validMs,
      },
    );
  }
  return ok(ctx, next, reply);
};

export const settleCredit: Handler<Msg<"settleCredit">> = (s, msg, ctx: Ctx) => {
  if (!isCount(msg.unused)) return fail(ctx, s, "invalid_request", "unused must be a non-negative integer");
  const next = settle(s, msg.leaseId, msg.unused, ctx.now);
  return ok(ctx, next, grant(next, 0));
};
