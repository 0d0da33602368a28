/**
 * The `Accepted` event of a recipient (A1, S12), derived from its record alone: the same fields,
 * the `250` reply ingress gave, at the time of the accept. Ingress no longer publishes it; the
 * domain actor's turn that takes the record does (actors/accepted.ts).
 */
import { type StatusEvent, statusEvent } from "./event.ts";
import type { RecipientRecord } from "./recipient.ts";

/** S12: the reply to DATA of an accepted message. */
export function queuedReply(messageId: string): string {
  return `250 2.0.0 OK queued as ${messageId}`;
}

export function acceptedEvent(r: RecipientRecord): StatusEvent {
  return statusEvent(r, {
    status: "Accepted",
    reason: "none",
    remoteReply: queuedReply(r.messageId),
    mxHost: "",
    attempt: 0,
    ts: r.acceptedAt,
  });
}
