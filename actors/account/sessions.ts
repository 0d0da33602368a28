/**
 * S4 session slots as leases, owned by the account actor so the per-user and per-account limits
 * hold across every node of a cluster. A lease lapses `ttlMs` after its last acquire or renew:
 * a session that died (or a node that died) without releasing frees its slot within one TTL.
 * Lapsed leases are pruned on every session message, so no timer is needed and the transition
 * stays a pure function of the state, the message and `ctx.now`.
 */
import type { AccountMsg, SessionGrant, SessionLease } from "../../shared/model/account/protocol.ts";
import { fail, type Handler, ok } from "./state.ts";

type Msg<T extends AccountMsg["t"]> = Extract<AccountMsg, { t: T }>;

const MAX_TTL_MS = 60 * 60 * 1000;

/** The leases still alive at `now`. */
export function liveLeases(
  sessions: Record<string, SessionLease> | undefined,
  now: number,
): Record<string, SessionLease> {
  const out: Record<string, SessionLease> = {};
  for (const [id, l] of Object.entries(sessions ?? {})) if (l.expiresAt > now) out[id] = l;
  return out;
}

/** Pure decision: may one more session of `username` open, given the live leases? */
export function decideSession(
  live: Record<string, SessionLease>,
  username: string,
  maxPerUser: number,
  maxPerAccount: number,
): SessionGrant {
  const all = Object.values(live);
  const userSessions = all.filter((l) => l.username === username).length;
  const accountSessions = all.length;
  if (userSessions >= maxPerUser) return { granted: false, refusedBy: "user", userSessions, accountSessions };
  if (accountSessions >= maxPerAccount)
    return { granted: false, refusedBy: "account", userSessions, accountSessions };
  return { granted: true, userSessions: userSessions + 1, accountSessions: accountSessions + 1 };
}

function validTtl(ttl: unknown): ttl is number {
  return typeof ttl === "number" && Number.isInteger(ttl) && ttl > 0 && ttl <= MAX_TTL_MS;
}

export const acquireSession: Handler<Msg<"acquireSession">> = (s, msg, ctx) => {
  if (typeof msg.leaseId !== "string" || msg.leaseId.length === 0 || !validTtl(msg.ttlMs))
    return fail(ctx, s, "invalid_request", "leaseId and a ttlMs of 1 ms to 1 h are required");
  const live = liveLeases(s.sessions, ctx.now);
  const expiresAt = ctx.now + msg.ttlMs;
  const held = live[msg.leaseId];
  if (held) {
    // Idempotent: a retried acquire renews the lease it already holds.
    const sessions = { ...live, [msg.leaseId]: { ...held, expiresAt } };
    const all = Object.values(sessions);
    return ok(ctx, { ...s, sessions }, {
      granted: true,
      userSessions: all.filter((l) => l.username === held.username).length,
      accountSessions: all.length,
    } satisfies SessionGrant);
  }
  const decision = decideSession(live, msg.username, msg.maxPerUser, msg.maxPerAccount);
  const sessions = decision.granted
    ? { ...live, [msg.leaseId]: { username: msg.username, expiresAt } }
    : live;
  return ok(ctx, { ...s, sessions }, decision);
};

export const renewSession: Handler<Msg<"renewSession">> = (s, msg, ctx) => {
  if (!validTtl(msg.ttlMs)) return fail(ctx, s, "invalid_request", "a ttlMs of 1 ms to 1 h is required");
  const live = liveLeases(s.sessions, ctx.now);
  const held = live[msg.leaseId];
  if (!held) return ok(ctx, { ...s, sessions: live }, { held: false });
  return ok(
    ctx,
    { ...s, sessions: { ...live, [msg.leaseId]: { ...held, expiresAt: ctx.now + msg.ttlMs } } },
    { held: true },
  );
};

export const releaseSession: Handler<Msg<"releaseSession">> = (s, msg, ctx) => {
  const live = liveLeases(s.sessions, ctx.now);
  delete live[msg.leaseId];
  return ok(ctx, { ...s, sessions: live }, null);
};
