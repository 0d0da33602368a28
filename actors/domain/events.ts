/** Status events of the delivery side (D9), built in one place with deterministic ids. */
import { type StatusEvent, statusEventId } from "../../shared/model/event.ts";
import type { RecipientRecord } from "../../shared/model/recipient.ts";
import type { RecipientStatus, StatusReason } from "../../shared/model/status.ts";

export interface EventFacts {
  status: RecipientStatus;
  reason: StatusReason;
  remoteReply: string;
  mxHost: string;
  attempt: number;
  ts: number;
}

export function statusEvent(r: RecipientRecord, f: EventFacts): StatusEvent {
  return {
    eventId: statusEventId(r.recipientId, f.status, f.attempt),
    accountId: r.accountId,
    messageId: r.messageId,
    recipientId: r.recipientId,
    recipient: r.recipient,
    recipientDomain: r.recipientDomain,
    sender: r.sender,
    sendingDomain: r.sendingDomain,
    smtpUser: r.smtpUser,
    subject: r.subject,
    status: f.status,
    reason: f.reason,
    remoteReply: f.remoteReply,
    mxHost: f.mxHost,
    isTest: r.isTest,
    ts: f.ts,
    attempt: f.attempt,
  };
}

export const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
