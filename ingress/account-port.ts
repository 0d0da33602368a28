/**
 * What ingress asks of the account actor (S4 session leases, S8 quota), through the actor system,
 * answering plain values. Actor failures become `SmtpError` 451 (temporary) at the caller.
 * S8 reservations come from this node's quota credit (quota-credit.ts), S4 session slots from its
 * blocks of session slots (session-credit.ts), both issue 16.
 */

import { QuotaGateway } from "../actors/account/quota-gateway.ts";
import { accountKey } from "../actors/keys.ts";
import type { ActorSystem } from "../actors/system.ts";
import type { AccountReply, CreditGrant, SessionCreditGrant } from "../shared/model/account/protocol.ts";
import type { IngressLimits } from "./limits.ts";
import { QuotaCredit, type Reservation } from "./quota-credit.ts";
import { SessionCredit, type SlotGrant } from "./session-credit.ts";

export interface AccountPort {
  reserve(accountId: string, n: number): Promise<Reservation>;
  release(accountId: string, n: number, periodStart?: number): Promise<void>;
  /** Hands this node's unused quota credit back (tests read exact counters after it). */
  flush(): Promise<void>;
  /** Stops the credit sweepers and hands the quota credit and session slots back (relay shutdown). */
  close(): Promise<void>;
  /** S4: a session slot for `username`, or which limit refused it. */
  acquireSession(accountId: string, username: string): Promise<SlotGrant>;
  /** S4: gives a session slot back (to this node's block: no ask). */
  releaseSession(accountId: string, username: string): void;
  /** This node's session slots (tests, metrics). */
  readonly sessions: Pick<SessionCredit, "inUse" | "granted" | "sweep">;
}

export function actorAccountPort(
  actors: ActorSystem,
  o: Pick<IngressLimits, "sessionLeaseMs" | "sessionsPerUser" | "sessionsPerAccount"> & {
    /** Default 0: one ask per reservation. */
    quotaCreditBlock?: number;
    /** S4: a spare session slot goes back after this long unused; default 2,000 ms, 0 = at close. */
    sessionCreditIdleMs?: number;
    askTimeoutMs?: number;
    nodeId?: string;
    now?(): number;
    /** C2 from the directory view: an account that may not send takes nothing from its credit. */
    mayUse?(accountId: string): boolean;
    onError?(error: unknown): void;
  },
): AccountPort {
  const ask = async <T>(accountId: string, msg: unknown): Promise<T> => {
    const r = await actors.ask<AccountReply<T>>(accountKey(accountId), msg, o.askTimeoutMs ?? 10_000);
    if (!r.ok) throw new Error(`account actor: ${r.code}: ${r.message}`);
    return r.value;
  };
  // S8: the one quota gateway, shared with the control plane.
  const quota = new QuotaGateway(actors, o.askTimeoutMs ?? 10_000);
  const credit = new QuotaCredit({
    nodeId: o.nodeId ?? actors.nodeId,
    block: o.quotaCreditBlock ?? 0,
    ttlMs: o.sessionLeaseMs,
    now: o.now ?? Date.now,
    ...(o.mayUse ? { mayUse: o.mayUse } : {}),
    ...(o.onError ? { onError: o.onError } : {}),
    actor: {
      grant: (accountId, msg) => ask<CreditGrant>(accountId, { t: "grantCredit", ...msg }),
      settle: async (accountId, s) => {
        await ask(accountId, { t: "settleCredit", ...s });
      },
      release: async (accountId, n, periodStart) => {
        await quota.release(accountId, n, periodStart);
      },
    },
  });
  const sessions = new SessionCredit({
    nodeId: o.nodeId ?? actors.nodeId,
    ttlMs: o.sessionLeaseMs,
    idleMs: o.sessionCreditIdleMs ?? 2_000,
    now: o.now ?? Date.now,
    ...(o.onError ? { onError: o.onError } : {}),
    actor: {
      credit: (accountId, msg) =>
        ask<SessionCreditGrant>(accountId, {
          t: "sessionCredit",
          ...msg,
          ttlMs: o.sessionLeaseMs,
          maxPerUser: o.sessionsPerUser,
          maxPerAccount: o.sessionsPerAccount,
        }),
    },
  });
  return {
    // Without credit (block 0) the reservation is the plain actor ask it always was.
    reserve: (accountId, n) =>
      (o.quotaCreditBlock ?? 0) > 0 ? credit.reserve(accountId, n) : quota.reserve(accountId, n),
    release: (accountId, n, periodStart) => credit.release(accountId, n, periodStart),
    flush: () => credit.flush(),
    close: async () => {
      await Promise.all([credit.close(), sessions.close()]);
    },
    acquireSession: (accountId, username) => sessions.acquire(accountId, username),
    releaseSession: (accountId, username) => sessions.release(accountId, username),
    sessions,
  };
}
