/**
 * The figures of the domain queues a node holds (X4 metrics, sampled at scrape time): recipients
 * ready, scheduled for a retry and in flight, and the acceptance time of the oldest of them. Pure:
 * it reads the states the actor system hands it and changes nothing.
 */
import type { QueueFigures } from "../../shared/metrics.ts";
import type { DomainState } from "./protocol.ts";

export function queueFigures(states: Iterable<unknown>): QueueFigures {
  const f: QueueFigures = { ready: 0, scheduled: 0, inflight: 0, oldestAcceptedAt: undefined };
  for (const state of states) {
    const s = state as DomainState;
    for (const e of s.entries.values()) {
      f[e.where] += 1;
      if (f.oldestAcceptedAt === undefined || e.record.acceptedAt < f.oldestAcceptedAt)
        f.oldestAcceptedAt = e.record.acceptedAt;
    }
  }
  return f;
}
