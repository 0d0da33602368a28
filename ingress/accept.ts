/**
 * The durable accept (S11) and the Activity events of submission (A1): per-recipient records to
 * the recipient-domain actors (one durable `tellAll`; each record's `Accepted` event is derived from
 * it in the domain actor's turn, actors/accepted.ts), `Rejected` events on `events.status` keyed by
 * account id. Builders are pure; `publish*` do the I/O.
 */

import { domainKey, recipientId } from "../actors/keys.ts";
import type { ActorSystem } from "../actors/system.ts";
import type { Bus } from "../shared/bus/types.ts";
import {
  STATUS_EVENTS_TOPIC,
  type StatusEvent,
  statusEvent,
  statusEventRecord,
} from "../shared/model/event.ts";
import type { RecipientRecord } from "../shared/model/recipient.ts";
import type { RecipientStatus, StatusReason } from "../shared/model/status.ts";
import type { Refusal } from "./policy.ts";
import type { Transaction } from "./transaction.ts";

export interface MessageFacts {
  contentRef: string;
  size: number;
  subject: string;
  /** The From header as read (the Accepted event, derived from the record, shows it). */
  headerFrom?: string;
  eightBit: boolean;
  acceptedAt: number;
}

/** Records for the recipients to deliver (accepted, not suppressed). */
export function buildRecords(tx: Transaction, m: MessageFacts): RecipientRecord[] {
  const delivered = tx.accepted.filter((r) => !r.suppressed);
  return delivered.map((r) => ({
    recipientId: recipientId(tx.messageId, r.seq),
    messageId: tx.messageId,
    accountId: tx.principal.accountId,
    smtpUser: tx.principal.username,
    sender: tx.sender.address,
    recipient: r.mailbox.address,
    recipientDomain: r.mailbox.domain,
    sendingDomain: tx.sender.domain,
    subject: m.subject,
    ...(m.headerFrom ? { headerFrom: m.headerFrom } : {}),
    contentRef: m.contentRef,
    size: m.size,
    smtputf8: tx.smtputf8,
    eightBit: m.eightBit,
    isTest: r.isTest,
    acceptedAt: m.acceptedAt,
    recipients: delivered.length,
  }));
}

export interface EventInput {
  seq: number;
  recipient: string;
  recipientDomain: string;
  status: Extract<RecipientStatus, "Accepted" | "Rejected">;
  reason: StatusReason;
  reply: string;
  isTest: boolean;
  subject: string;
  /** The From header, when DATA's headers were read. */
  headerFrom?: string;
  ts: number;
}

/** The event of a recipient at submission: the transaction's facts into the one builder. */
export function buildEvent(
  tx: Pick<Transaction, "messageId" | "principal" | "sender">,
  e: EventInput,
): StatusEvent {
  return statusEvent(
    {
      accountId: tx.principal.accountId,
      messageId: tx.messageId,
      recipientId: recipientId(tx.messageId, e.seq),
      recipient: e.recipient,
      recipientDomain: e.recipientDomain,
      sender: tx.sender.address,
      sendingDomain: tx.sender.domain,
      smtpUser: tx.principal.username,
      subject: e.subject,
      ...(e.headerFrom !== undefined ? { headerFrom: e.headerFrom } : {}),
      isTest: e.isTest,
    },
    { status: e.status, reason: e.reason, remoteReply: e.reply, mxHost: "", attempt: 0, ts: e.ts },
  );
}

/**
 * A `Rejected` event for a refused recipient (or, with an empty recipient, a refused message), with
 * what the session knew: the recipient, and after DATA's headers the subject and header From.
 */
export function rejectedEvent(
  tx: Pick<Transaction, "messageId" | "principal" | "sender" | "headers">,
  r: { recipient: string; domain: string; refusal: Refusal; seq: number; isTest: boolean; ts: number },
): StatusEvent {
  return buildEvent(tx, {
    seq: r.seq,
    recipient: r.recipient,
    recipientDomain: r.domain,
    status: "Rejected",
    reason: r.refusal.reason,
    reply: r.refusal.error.reply,
    isTest: r.isTest,
    subject: tx.headers?.subject ?? "",
    ...(tx.headers ? { headerFrom: tx.headers.headerFrom } : {}),
    ts: r.ts,
  });
}

export async function publishEvents(bus: Bus, events: StatusEvent[]): Promise<void> {
  if (events.length > 0) await bus.publish(STATUS_EVENTS_TOPIC, events.map(statusEventRecord));
}

/**
 * A failed durable accept. `recordsPublished`: the recipient records did reach the bus (only the
 * events failed), so the stored content is referenced and must stay.
 */
export class PublishFailedError extends Error {
  override readonly name = "PublishFailedError";
  constructor(
    readonly recordsPublished: boolean,
    cause: unknown,
  ) {
    super(`durable accept failed (records ${recordsPublished ? "published" : "not published"})`, { cause });
  }
}

/**
 * S11: the records to the domain actors (whose turns derive each recipient's `Accepted` event,
 * actors/accepted.ts) and the events ingress itself writes (suppressed recipients, usually none),
 * both durable, before the caller answers 250.
 */
export async function publishAccepted(
  actors: ActorSystem,
  bus: Bus,
  records: RecipientRecord[],
  events: StatusEvent[],
): Promise<void> {
  const [recs, evs] = await Promise.allSettled([
    records.length > 0
      ? actors.tellAll(
          records.map((record) => ({
            key: domainKey(record.recipientDomain),
            msg: { t: "recipient", record },
          })),
        )
      : Promise.resolve(),
    publishEvents(bus, events),
  ]);
  if (recs.status === "rejected") throw new PublishFailedError(false, recs.reason);
  if (evs.status === "rejected") throw new PublishFailedError(true, evs.reason);
}
