/**
 * One client IP address, actor `client:<ip>` (actors/keys.ts `clientKey`): the per-IP limits of
 * S3 and S4, held here so that they hold across every node of a cluster (X2).
 *
 * - S4: the IP's SMTP connections as leases (shared/model/lease.ts), at most `maxSessions` slots
 *   in all, holder the node that serves them. As credit (issue 16, `slots`): each node holds one
 *   lease per IP weighing the connections it may open (ingress/client-gate.ts), resized and
 *   renewed by one message per block, not per connection; the limit counts every lease's weight.
 *   The earlier messages, one lease per connection (`connect`, `renew`, `release`), still work
 *   for nodes of an earlier version in a mixed cluster. A lease a dead node (or a lost close) left
 *   lapses after its TTL, freed by this actor's `expire` timer at the earliest expiry.
 * - S3: the failed AUTHs within the window and the time a block ends. The block is answered with
 *   every slots, connect, failure and renew message, so each node learns it from the work it
 *   already does. A blocked IP's leases may shrink, never grow.
 *
 * The limits come in the messages (as the account's session limits do), so the behavior has no
 * options; the transition reads time only from `ctx.now`.
 */
import {
  acquire,
  expire,
  extend,
  isSlotCount,
  type Lease,
  type LeaseTable,
  leaseRecord,
  leaseTable,
  MAX_LEASE_SLOTS,
  release,
  resize,
  weight,
} from "../../shared/model/lease.ts";
import type { ActorContext, Behavior } from "../behavior.ts";

export interface ClientState {
  /** S4: one lease per open connection, by lease id. */
  leases: Record<string, Lease>;
  /** S3: times (ms) of the failed AUTHs in the window, oldest first; at most `maxFailures`. */
  failures: number[];
  /** S3: blocked while `now` is before this (ms); 0 = never blocked. */
  blockedUntil: number;
}

/** S3 policy, sent with each failure: N failures within `windowMs` block for `blockMs`. */
export interface BruteForcePolicy {
  maxFailures: number;
  windowMs: number;
  blockMs: number;
}

export type ClientMsg =
  /**
   * A node's block of this IP's connection slots (issue 16): lease `leaseId` (`<nodeId>.ip`) set
   * to weigh `slots` — or as many as `maxSessions` allows counting the other leases; 0 releases it
   * — and extended by `ttlMs`. No growth while the IP is blocked. `windowMs`: the S3 window the
   * answer counts failures in.
   */
  | {
      t: "slots";
      leaseId: string;
      holder: string;
      slots: number;
      ttlMs: number;
      maxSessions: number;
      windowMs: number;
    }
  /** A new connection: takes its lease unless the IP is blocked or holds `maxSessions` leases. */
  | { t: "connect"; leaseId: string; holder: string; ttlMs: number; maxSessions: number }
  /** A node's connections from this IP still live: their leases run `ttlMs` from now. */
  | { t: "renew"; leaseIds: string[]; ttlMs: number }
  | { t: "release"; leaseId: string }
  | ({ t: "authFailed" } & BruteForcePolicy)
  /** A successful AUTH forgets the earlier failures (not an active block). */
  | { t: "authSucceeded" }
  /** The timer: drops lapsed leases. */
  | { t: "expire" };

export type ClientAdmission =
  | { admitted: true; sessions: number; failures: number }
  | { admitted: false; refusedBy: "blocked"; blockedUntil: number }
  | { admitted: false; refusedBy: "sessions"; sessions: number };

/** The answer to `slots`: the block's weight now, the IP's total, its block and recent failures. */
export interface ClientSlots {
  slots: number;
  sessions: number;
  blockedUntil: number;
  /** Failed AUTHs in the window. */
  failures: number;
}

export interface ClientRenewal {
  /** Lease ids asked for that were no longer held (lapsed or released). */
  lost: string[];
  blockedUntil: number;
}

export interface FailureVerdict {
  /** This failure started the block. */
  started: boolean;
  blockedUntil: number;
  failures: number;
}

const MAX_TTL_MS = 60 * 60 * 1000;
const EXPIRE_TIMER = "expire";

// — S3, pure —

export function isBlocked(s: Pick<ClientState, "blockedUntil">, now: number): boolean {
  return s.blockedUntil > now;
}

/** Failures still inside the window at `now`. */
export function recentFailures(s: Pick<ClientState, "failures">, now: number, windowMs: number): number[] {
  return s.failures.filter((t) => t > now - windowMs);
}

/** Records a failed AUTH at `now`; `started` when it began a block (the failures are then forgotten). */
export function recordFailure(
  s: ClientState,
  now: number,
  p: BruteForcePolicy,
): { state: ClientState; started: boolean } {
  const failures = [...recentFailures(s, now, p.windowMs), now].slice(-p.maxFailures);
  if (failures.length >= p.maxFailures && !isBlocked(s, now))
    return { state: { ...s, failures: [], blockedUntil: now + p.blockMs }, started: true };
  return { state: { ...s, failures }, started: false };
}

/** A successful AUTH forgets the failures, unless the IP is blocked. */
export function recordSuccess(s: ClientState, now: number): ClientState {
  return isBlocked(s, now) || s.failures.length === 0 ? s : { ...s, failures: [] };
}

// — the actor —

function validTtl(ttl: unknown): ttl is number {
  return typeof ttl === "number" && Number.isInteger(ttl) && ttl > 0 && ttl <= MAX_TTL_MS;
}

const positive = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n > 0;

/** The live leases and the state holding only them. */
function live(s: ClientState, now: number): { table: LeaseTable; state: ClientState } {
  const table = expire(leaseTable(s.leases), now);
  return {
    table,
    state: table.size === Object.keys(s.leases).length ? s : { ...s, leases: leaseRecord(table) },
  };
}

/** The `expire` timer follows the earliest lease expiry; none while no lease is held. */
function armExpiry(s: ClientState, ctx: ActorContext<ClientMsg>): void {
  let next = Number.POSITIVE_INFINITY;
  for (const l of Object.values(s.leases)) next = Math.min(next, l.expiresAt);
  const armed = ctx.timers().get(EXPIRE_TIMER);
  if (next === Number.POSITIVE_INFINITY) {
    if (armed !== undefined) ctx.cancelTimer(EXPIRE_TIMER);
  } else if (armed !== next) ctx.setTimer(EXPIRE_TIMER, next, { t: "expire" });
}

function step(state: ClientState, msg: ClientMsg, ctx: ActorContext<ClientMsg>): ClientState {
  const now = ctx.now;
  switch (msg.t) {
    case "slots": {
      if (
        !validTtl(msg.ttlMs) ||
        !positive(msg.maxSessions) ||
        !positive(msg.windowMs) ||
        typeof msg.leaseId !== "string" ||
        !msg.leaseId ||
        typeof msg.holder !== "string" ||
        !isSlotCount(msg.slots)
      )
        throw new Error(
          `slots needs a leaseId, a holder, slots of 0 to ${MAX_LEASE_SLOTS}, a maxSessions and windowMs of 1 or more and a ttlMs of 1 ms to 1 h`,
        );
      const { table, state: s } = live(state, now);
      const held = table.get(msg.leaseId);
      // While blocked a block may shrink (or be renewed as it is), not grow.
      const slots = isBlocked(s, now) ? Math.min(msg.slots, held ? weight(held) : 0) : msg.slots;
      const r = resize(
        table,
        { id: msg.leaseId, holder: msg.holder, ttlMs: msg.ttlMs, slots },
        { total: msg.maxSessions },
        now,
      );
      ctx.reply({
        slots: r.slots,
        sessions: r.counts.total,
        blockedUntil: s.blockedUntil,
        failures: recentFailures(s, now, msg.windowMs).length,
      } satisfies ClientSlots);
      return r.table === table ? s : { ...s, leases: leaseRecord(r.table) };
    }
    case "connect": {
      if (
        !validTtl(msg.ttlMs) ||
        !positive(msg.maxSessions) ||
        typeof msg.leaseId !== "string" ||
        !msg.leaseId
      )
        throw new Error("connect needs a leaseId, a maxSessions of 1 or more and a ttlMs of 1 ms to 1 h");
      const { table, state: s } = live(state, now);
      if (isBlocked(s, now)) {
        ctx.reply({
          admitted: false,
          refusedBy: "blocked",
          blockedUntil: s.blockedUntil,
        } satisfies ClientAdmission);
        return s;
      }
      const r = acquire(
        table,
        { id: msg.leaseId, holder: msg.holder, ttlMs: msg.ttlMs },
        { total: msg.maxSessions },
        now,
      );
      if (!r.ok) {
        ctx.reply({
          admitted: false,
          refusedBy: "sessions",
          sessions: r.counts.total,
        } satisfies ClientAdmission);
        return s;
      }
      // `failures` lets the node tell a later success only when there is something to forget.
      ctx.reply({
        admitted: true,
        sessions: r.counts.total,
        failures: s.failures.length,
      } satisfies ClientAdmission);
      return { ...s, leases: leaseRecord(r.table) };
    }
    case "renew": {
      if (!validTtl(msg.ttlMs)) throw new Error("renew needs a ttlMs of 1 ms to 1 h");
      let { table } = live(state, now);
      const lost: string[] = [];
      for (const id of msg.leaseIds) {
        const r = extend(table, id, msg.ttlMs, now);
        if (r.lease) table = r.table;
        else lost.push(id);
      }
      ctx.reply({ lost, blockedUntil: state.blockedUntil } satisfies ClientRenewal);
      return { ...state, leases: leaseRecord(table) };
    }
    case "release": {
      const { table, state: s } = live(state, now);
      const next = release(table, msg.leaseId);
      ctx.reply(null);
      return next === table ? s : { ...s, leases: leaseRecord(next) };
    }
    case "authFailed": {
      if (!positive(msg.maxFailures) || !positive(msg.windowMs) || !positive(msg.blockMs))
        throw new Error("authFailed needs a positive maxFailures, windowMs and blockMs");
      const r = recordFailure(state, now, msg);
      ctx.reply({
        started: r.started,
        blockedUntil: r.state.blockedUntil,
        failures: r.state.failures.length,
      } satisfies FailureVerdict);
      return r.state;
    }
    case "authSucceeded":
      return recordSuccess(state, now);
    case "expire":
      return live(state, now).state;
  }
}

export function createClientBehavior(): Behavior<ClientState, ClientMsg> {
  return {
    type: "client",
    initial: () => ({ leases: {}, failures: [], blockedUntil: 0 }),
    receive(state, msg, ctx) {
      const next = step(state, msg, ctx);
      armExpiry(next, ctx);
      return next;
    },
  };
}
