/**
 * What ingress asks of a client IP's actor (actors/client/behavior.ts: S3 block, S4 per-IP
 * slots), through the actor system, answering plain values with the limits of this node's
 * config. Actor failures reject; the caller decides what they mean (ingress/client-gate.ts).
 */

import type { ClientMsg, ClientSlots, FailureVerdict } from "../actors/client/behavior.ts";
import { clientKey } from "../actors/keys.ts";
import type { ActorSystem } from "../actors/system.ts";
import type { IngressLimits } from "./limits.ts";

export interface ClientPort {
  /**
   * S4 + S3 in one ask: sets this node's block of `ip`'s connection slots (lease `leaseId`) to
   * weigh `slots`, or as many as the per-IP limit allows (none more while blocked), and extends
   * it; answers the weight granted, the IP's block and its recent failures.
   */
  slots(ip: string, msg: { leaseId: string; holder: string; slots: number }): Promise<ClientSlots>;
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
    slots: (ip, msg) =>
      ask(ip, {
        t: "slots",
        ...msg,
        ttlMs: o.sessionLeaseMs,
        maxSessions: o.sessionsPerIp,
        windowMs: o.authWindowMs,
      }),
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
