/**
 * The end of DATA (S6, S7 header From, S10, S11, S12): the content into the store, then what the
 * accepted message becomes — one record per recipient to deliver, and a `Rejected` event (reason
 * `suppressed`, S9) per suppressed recipient, carrying the `250` reply. The `Accepted` events are
 * derived from the records by the domain actors (actors/accepted.ts): one durable write per message.
 */
import type { SMTPServerDataStream } from "smtp-server";
import { queuedReply } from "../shared/model/accepted.ts";
import type { StatusEvent } from "../shared/model/event.ts";
import type { RecipientRecord } from "../shared/model/recipient.ts";
import { buildEvent, buildRecords } from "./accept.ts";
import type { IngressDeps } from "./deps.ts";
import { Replies } from "./errors.ts";
import { type IntakeResult, intake } from "./intake.ts";
import { senderVerdict } from "./policy.ts";
import type { Transaction } from "./transaction.ts";

export type StoredMessage = IntakeResult;

/** Streams the message into the content store; throws SmtpError for a refused message. */
export function storeMessage(
  d: Pick<IngressDeps, "store" | "hostname" | "limits" | "directory">,
  tx: Transaction,
  stream: SMTPServerDataStream,
  now: number,
): Promise<StoredMessage> {
  return intake(stream, {
    store: d.store,
    messageId: tx.messageId,
    hostname: d.hostname,
    now,
    maxBytes: d.limits.maxMessageBytes,
    maxHeaderBytes: d.limits.maxHeaderBytes,
    checkHeaderFrom: (domains) => {
      // S7: every author's domain, not only the first one's; no author at all is refused too.
      if (domains === null) throw Replies.noHeaderFrom();
      for (const domain of domains) {
        if (domain === tx.sender.domain) continue;
        const refusal = senderVerdict(d.directory.account(tx.principal.accountId), domain);
        if (refusal) throw refusal.error;
      }
    },
    onHeaders: (h) => {
      tx.headers = h;
    },
  });
}

/** Pure: the records of an accepted, stored message and the events ingress itself publishes. */
export function messageOutcome(
  tx: Transaction,
  m: StoredMessage,
  acceptedAt: number,
): { records: RecipientRecord[]; events: StatusEvent[] } {
  const reply = queuedReply(tx.messageId);
  const records = buildRecords(tx, {
    contentRef: m.stored.ref,
    size: m.stored.size,
    subject: m.subject,
    headerFrom: m.headerFrom,
    eightBit: m.eightBit,
    acceptedAt,
  });
  const events = tx.accepted
    .filter((r) => r.suppressed)
    .map((r) =>
      buildEvent(tx, {
        seq: r.seq,
        recipient: r.mailbox.address,
        recipientDomain: r.mailbox.domain,
        status: "Rejected",
        reason: "suppressed",
        reply,
        isTest: r.isTest,
        subject: m.subject,
        headerFrom: m.headerFrom,
        ts: acceptedAt,
      }),
    );
  return { records, events };
}
