/**
 * What ingress asks of a client IP's actor (actors/client/behavior.ts: S3 block, S4 per-IP
 * leases), through the actor system, answering plain values with the limits of this node's
 * config. Actor failures reject; the caller decides what they mean (ingress/client-gate.ts).
 */

import type { ClientAdmission, ClientMsg, ClientRenewal, FailureVerdict } from "../actors/client/behavior.ts";
import { clientKey } from "../actors/keys.ts";
import type { ActorSystem } from "../actors/system.ts";
import type { IngressLimits } from "./limits.ts";

export interface ClientPort {
  /** S3 + S4 in one ask: takes connection `leaseId`'s slot unless the IP is blocked or full. */
  connect(ip: string, leaseId: string, holder: string): Promise<ClientAdmission>;
  renew(ip: string, leaseIds: string[]): Promise<ClientRenewal>;
  release(ip: string, leaseId: string): Promise<void>;
  authFailed(ip: string): Promise<FailureVerdict>;
  /** A tell: resolves once it is on the bus. */
  authSucceeded(ip: string): Promise<void>;
}

export function actorClientPort(
  actors: Pick<ActorSystem, "ask" | "tell">,
  o: Pick<
    IngressLimits,
    "sessionLeaseMs" | "sessionsPerIp" | "authMaxFailures" | "authWindowMs" | "authBlockMs"
  > & { askTimeoutMs?: number },
): ClientPort {
  const ask = <T>(ip: string, msg: ClientMsg): Promise<T> =>
    actors.ask<T>(clientKey(ip), msg, o.askTimeoutMs ?? 10_000);
  return {
    connect: (ip, leaseId, holder) =>
      ask(ip, { t: "connect", leaseId, holder, ttlMs: o.sessionLeaseMs, maxSessions: o.sessionsPerIp }),
    renew: (ip, leaseIds) => ask(ip, { t: "renew", leaseIds, ttlMs: o.sessionLeaseMs }),
    release: async (ip, leaseId) => {
      await ask(ip, { t: "release", leaseId });
    },
    authFailed: (ip) =>
      ask(ip, {
        t: "authFailed",
        maxFailures: o.authMaxFailures,
        windowMs: o.authWindowMs,
        blockMs: o.authBlockMs,
      }),
    authSucceeded: (ip) => actors.tell(clientKey(ip), { t: "authSucceeded" } satisfies ClientMsg),
  };
}
