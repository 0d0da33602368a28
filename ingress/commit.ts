/**
 * The end of DATA (S6, S7 header From, S10, S11, S12): the content into the store, then what the
 * accepted message becomes — one record per recipient to deliver and one event per recipient
 * (`Accepted`, or `Rejected` with reason `suppressed`, S9), all carrying the `250` reply.
 */
import type { SMTPServerDataStream } from "smtp-server";
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

/** Pure: the records and events of an accepted, stored message. */
export function messageOutcome(
  tx: Transaction,
  m: StoredMessage,
  acceptedAt: number,
): { records: RecipientRecord[]; events: StatusEvent[] } {
  const reply = `250 2.0.0 OK queued as ${tx.messageId}`;
  const records = buildRecords(tx, {
    contentRef: m.stored.ref,
    size: m.stored.size,
    subject: m.subject,
    eightBit: m.eightBit,
    acceptedAt,
  });
  const events = tx.accepted.map((r) =>
    buildEvent(tx, {
      seq: r.seq,
      recipient: r.mailbox.address,
      recipientDomain: r.mailbox.domain,
      status: r.suppressed ? "Rejected" : "Accepted",
      reason: r.suppressed ? "suppressed" : "none",
      reply,
      isTest: r.isTest,
      subject: m.subject,
      headerFrom: m.headerFrom,
      ts: acceptedAt,
    }),
  );
  return { records, events };
}
