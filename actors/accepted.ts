/**
 * S11, A1 — one durable write per accepted message: ingress puts only the recipient records on the
 * bus before `250`; each recipient's `Accepted` event is derived from its record in the turn of
 * the domain actor that takes it, and leaves with that turn's other outputs (its `Pending` event)
 * in one publish. The record is durable before `250` and its turn runs at least once, so every
 * accepted recipient gets its `Accepted` event; a replayed turn repeats it under the same event id
 * (`<recipientId>:Accepted:0`), which the sink stores once.
 *
 * A wrapper around the domain behavior (composed in relay.ts), so that the domain actor's own
 * transition stays about slots and retries.
 */
import { acceptedEvent } from "../shared/model/accepted.ts";
import { STATUS_EVENTS_TOPIC, statusEventRecord } from "../shared/model/event.ts";
import type { Behavior } from "./behavior.ts";
import type { DomainMsg } from "./domain/protocol.ts";

export function withAcceptedEvents<S>(inner: Behavior<S, DomainMsg>): Behavior<S, DomainMsg> {
  return {
    ...inner,
    receive(state, msg, ctx) {
      if (msg.t === "recipient") {
        const { key, value } = statusEventRecord(acceptedEvent(msg.record));
        ctx.emit(STATUS_EVENTS_TOPIC, key, value);
      }
      return inner.receive(state, msg, ctx);
    },
  };
}
