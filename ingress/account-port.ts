/**
 * What ingress asks of the account actor (S4 session leases, S8 quota), through the actor system,
 * answering plain values. Actor failures become `SmtpError` 451 (temporary) at the caller.
 */

import { QuotaGateway } from "../actors/account/quota-gateway.ts";
import { accountKey } from "../actors/keys.ts";
import type { ActorSystem } from "../actors/system.ts";
import type { AccountReply, QuotaGrant, SessionGrant } from "../shared/model/account/protocol.ts";
import type { IngressLimits } from "./limits.ts";

export interface AccountPort {
  reserve(accountId: string, n: number): Promise<QuotaGrant>;
  release(accountId: string, n: number, periodStart?: number): Promise<void>;
  acquireSession(accountId: string, leaseId: string, username: string): Promise<SessionGrant>;
  renewSession(accountId: string, leaseId: string): Promise<boolean>;
  releaseSession(accountId: string, leaseId: string): Promise<void>;
}

export function actorAccountPort(
  actors: ActorSystem,
  o: Pick<IngressLimits, "sessionLeaseMs" | "sessionsPerUser" | "sessionsPerAccount"> & {
    askTimeoutMs?: number;
  },
): AccountPort {
  const ask = async <T>(accountId: string, msg: unknown): Promise<T> => {
    const r = await actors.ask<AccountReply<T>>(accountKey(accountId), msg, o.askTimeoutMs ?? 10_000);
    if (!r.ok) throw new Error(`account actor: ${r.code}: ${r.message}`);
    return r.value;
  };
  // S8: the one quota gateway, shared with the control plane.
  const quota = new QuotaGateway(actors, o.askTimeoutMs ?? 10_000);
  return {
    reserve: (accountId, n) => quota.reserve(accountId, n),
    release: async (accountId, n, periodStart) => {
      await quota.release(accountId, n, periodStart);
    },
    acquireSession: (accountId, leaseId, username) =>
      ask<SessionGrant>(accountId, {
        t: "acquireSession",
        leaseId,
        username,
        ttlMs: o.sessionLeaseMs,
        maxPerUser: o.sessionsPerUser,
        maxPerAccount: o.sessionsPerAccount,
      }),
    renewSession: async (accountId, leaseId) =>
      (await ask<{ held: boolean }>(accountId, { t: "renewSession", leaseId, ttlMs: o.sessionLeaseMs })).held,
    releaseSession: async (accountId, leaseId) => {
      await ask(accountId, { t: "releaseSession", leaseId });
    },
  };
}
