/**
 * The content ledger (X5): a message's content is deleted once every recipient of it has a final
 * status (Delivered, Soft bounce, Hard bounce), in either content store. The domain actors tell it
 * each recipient's end (`final`, carrying the message's recipient count and content reference, so
 * the ingress path writes nothing more); the actor counts distinct recipients per message and,
 * at the last one, emits the reference on `content.delete`, which the relay's content janitor job
 * deletes from the store (actors do no I/O). Keyed by a bucket of the message id
 * (`content:<bucket>`, actors/keys.ts), its rows in a keyed table: O(1) per recipient.
 * A message whose every recipient ends in one turn of its domain actor (its only recipient, or all
 * of them in one transaction) does not come here: that actor emits the deletion itself
 * (actors/domain/behavior.ts `finished`), as this ledger would at once.
 */
import { utf8 } from "../../shared/utf8.ts";
import type { ActorContext, Behavior } from "../behavior.ts";
import { CONTENT_ACTOR_TYPE } from "../keys.ts";
import { Table } from "../table.ts";

export const CONTENT_DELETE_TOPIC = "content.delete";

export type ContentMsg =
  | {
      t: "final";
      messageId: string;
      recipientId: string;
      contentRef: string;
      /** Recipients with a record (the message's delivery work). */
      recipients: number;
    }
  | { t: "inspect" };

interface Row {
  contentRef: string;
  recipients: number;
  /** Recipient ids with a final status so far (at most `recipients`, ≤ 50 by S5). */
  done: string[];
}

export interface ContentState {
  messages: Table<Row>;
}

/** Value of a `content.delete` record: the content reference, UTF-8. */
export function encodeDeletion(ref: string): Uint8Array {
  return utf8(ref);
}

function onFinal(
  s: ContentState,
  m: Extract<ContentMsg, { t: "final" }>,
  ctx: ActorContext<ContentMsg>,
): void {
  const row = s.messages.get(m.messageId) ?? { contentRef: m.contentRef, recipients: m.recipients, done: [] };
  if (row.done.includes(m.recipientId)) return; // a redelivered notice
  const done = [...row.done, m.recipientId];
  if (done.length < row.recipients) {
    s.messages.set(m.messageId, { ...row, done });
    return;
  }
  s.messages.delete(m.messageId);
  ctx.emit(CONTENT_DELETE_TOPIC, m.messageId, encodeDeletion(row.contentRef));
}

export function createContentBehavior(o: { partitions: number }): Behavior<ContentState, ContentMsg> {
  return {
    type: CONTENT_ACTOR_TYPE,
    outputs: [{ name: CONTENT_DELETE_TOPIC, partitions: o.partitions }],
    initial: () => ({ messages: new Table() }),
    encode: () => ({}),
    decode: () => ({ messages: new Table() }),
    tables: (s) => ({ messages: s.messages }) as Record<string, Table<unknown>>,
    receive(state, msg, ctx) {
      switch (msg.t) {
        case "final":
          // A count that cannot finish (a record from before the count was carried) is ignored.
          if (!Number.isInteger(msg.recipients) || msg.recipients < 1) return state;
          onFinal(state, msg, ctx);
          return state;
        case "inspect":
          ctx.reply({ messages: state.messages.size });
          return state;
      }
    },
  };
}
