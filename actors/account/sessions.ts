/**
 * S4 session slots as leases (shared/model/lease.ts), owned by the account actor so the per-user
 * and per-account limits hold across every node of a cluster: the holder is the SMTP username,
 * the per-holder limit the per-user one, the total the per-account one. A lease lapses `ttlMs`
 * after its last acquire or renew: a session that died (or a node that died) without releasing
 * frees its slot within one TTL. Lapsed leases are pruned on every session message, so no timer
 * is needed and the transition stays a pure function of the state, the message and `ctx.now`.
 *
 * As credit (issue 16, `sessionCredit`): a node holds one lease per SMTP user weighing as many
 * slots as it was granted (ingress/session-credit.ts) and opens sessions from it locally; the
 * limits count every lease's weight, so the nodes together never exceed them.
 */
import type {
  AccountMsg,
  SessionCreditGrant,
  SessionGrant,
  SessionLease,
} from "../../shared/model/account/protocol.ts";
import {
  acquire,
  decide,
  expire,
  extend,
  isSlotCount,
  type LeaseLimits,
  type LeaseTable,
  leaseRecord,
  leaseTable,
  MAX_LEASE_SLOTS,
  release,
  resize,
} from "../../shared/model/lease.ts";
import { fail, type Handler, ok } from "./state.ts";

type Msg<T extends AccountMsg["t"]> = Extract<AccountMsg, { t: T }>;

const MAX_TTL_MS = 60 * 60 * 1000;
/** A lease as persisted before the shared lease model: `{ username, expiresAt }`, id by key. */
interface LegacySessionLease {
  username: string;
  expiresAt: number;
}

/** The persisted sessions as a lease table; leases written in the earlier form are read as leases. */
function sessionTable(sessions: Record<string, SessionLease | LegacySessionLease> | undefined): LeaseTable {
  const current: Record<string, SessionLease> = {};
  for (const [id, l] of Object.entries(sessions ?? {}))
    current[id] = "holder" in l ? l : { id, holder: l.username, expiresAt: l.expiresAt };
  return leaseTable(current);
}

/** The leases still alive at `now`. */
export function liveLeases(
  sessions: Record<string, SessionLease | LegacySessionLease> | undefined,
  now: number,
): Record<string, SessionLease> {
  return leaseRecord(expire(sessionTable(sessions), now));
}

function limits(maxPerUser: number, maxPerAccount: number): LeaseLimits {
  return { perHolder: maxPerUser, total: maxPerAccount };
}

/** Pure decision: may one more session of `username` open, given the live leases? */
export function decideSession(
  live: Record<string, SessionLease>,
  username: string,
  maxPerUser: number,
  maxPerAccount: number,
): SessionGrant {
  const d = decide(leaseTable(live), username, limits(maxPerUser, maxPerAccount));
  const { holder: userSessions, total: accountSessions } = d.counts;
  if (!d.ok)
    return {
      granted: false,
      refusedBy: d.refusedBy === "holder" ? "user" : "account",
      userSessions,
      accountSessions,
    };
  return { granted: true, userSessions: userSessions + 1, accountSessions: accountSessions + 1 };
}

function validTtl(ttl: unknown): ttl is number {
  return typeof ttl === "number" && Number.isInteger(ttl) && ttl > 0 && ttl <= MAX_TTL_MS;
}

export const acquireSession: Handler<Msg<"acquireSession">> = (s, msg, ctx) => {
  if (typeof msg.leaseId !== "string" || msg.leaseId.length === 0 || !validTtl(msg.ttlMs))
    return fail(ctx, s, "invalid_request", "leaseId and a ttlMs of 1 ms to 1 h are required");
  const live = expire(sessionTable(s.sessions), ctx.now);
  // Idempotent: a retried acquire renews the lease it already holds (acquire extends a held id).
  const r = acquire(
    live,
    { id: msg.leaseId, holder: msg.username, ttlMs: msg.ttlMs },
    limits(msg.maxPerUser, msg.maxPerAccount),
    ctx.now,
  );
  const { holder: userSessions, total: accountSessions } = r.counts;
  if (!r.ok)
    return ok(ctx, { ...s, sessions: leaseRecord(live) }, {
      granted: false,
      refusedBy: r.refusedBy === "holder" ? "user" : "account",
      userSessions,
      accountSessions,
    } satisfies SessionGrant);
  return ok(ctx, { ...s, sessions: leaseRecord(r.table) }, {
    granted: true,
    userSessions,
    accountSessions,
  } satisfies SessionGrant);
};

export const renewSession: Handler<Msg<"renewSession">> = (s, msg, ctx) => {
  if (!validTtl(msg.ttlMs)) return fail(ctx, s, "invalid_request", "a ttlMs of 1 ms to 1 h is required");
  const r = extend(expire(sessionTable(s.sessions), ctx.now), msg.leaseId, msg.ttlMs, ctx.now);
  return ok(ctx, { ...s, sessions: leaseRecord(r.table) }, { held: r.lease !== undefined });
};

export const releaseSession: Handler<Msg<"releaseSession">> = (s, msg, ctx) => {
  const live = expire(sessionTable(s.sessions), ctx.now);
  return ok(ctx, { ...s, sessions: leaseRecord(release(live, msg.leaseId)) }, null);
};

export const sessionCredit: Handler<Msg<"sessionCredit">> = (s, msg, ctx) => {
  if (typeof msg.leaseId !== "string" || msg.leaseId.length === 0 || !validTtl(msg.ttlMs))
    return fail(ctx, s, "invalid_request", "leaseId and a ttlMs of 1 ms to 1 h are required");
  if (typeof msg.username !== "string" || !isSlotCount(msg.slots))
    return fail(ctx, s, "invalid_request", `a username and slots of 0 to ${MAX_LEASE_SLOTS} are required`);
  const r = resize(
    expire(sessionTable(s.sessions), ctx.now),
    { id: msg.leaseId, holder: msg.username, ttlMs: msg.ttlMs, slots: msg.slots },
    limits(msg.maxPerUser, msg.maxPerAccount),
    ctx.now,
  );
  const reply: SessionCreditGrant = {
    slots: r.slots,
    userSessions: r.counts.holder,
    accountSessions: r.counts.total,
  };
  if (r.refusedBy) reply.refusedBy = r.refusedBy === "holder" ? "user" : "account";
  return ok(ctx, { ...s, sessions: leaseRecord(r.table) }, reply);
};
