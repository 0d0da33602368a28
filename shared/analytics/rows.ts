/** A status event (shared/model/event.ts) as a row of the `events` table (migrations/0001_events.ts). */
import type { StatusEvent } from "../model/event.ts";

export interface EventRow {
  event_id: string;
  account_id: string;
  message_id: string;
  recipient_id: string;
  recipient: string;
  recipient_domain: string;
  sender: string;
  sending_domain: string;
  smtp_user: string;
  subject: string;
  header_from: string;
  status: string;
  reason: string;
  remote_reply: string;
  mx_host: string;
  is_test: 0 | 1;
  /** The classifier's decision (migration 0007); absent = '' (no decision). */
  decision_class?: string;
  decision_rule?: string;
  decision_says?: string;
  /** `YYYY-MM-DD hh:mm:ss.fff`, UTC. */
  ts: string;
}

export function eventRow(e: StatusEvent): EventRow {
  return {
    event_id: e.eventId,
    account_id: e.accountId,
    message_id: e.messageId,
    recipient_id: e.recipientId,
    recipient: e.recipient,
    recipient_domain: e.recipientDomain,
    sender: e.sender,
    sending_domain: e.sendingDomain,
    smtp_user: e.smtpUser,
    subject: e.subject,
    header_from: e.headerFrom ?? "",
    status: e.status,
    reason: e.reason,
    remote_reply: e.remoteReply,
    mx_host: e.mxHost,
    is_test: e.isTest ? 1 : 0,
    ts: new Date(e.ts).toISOString().replace("T", " ").replace("Z", ""),
    ...(e.decision
      ? { decision_class: e.decision.class, decision_rule: e.decision.rule, decision_says: e.decision.says }
      : {}),
  };
}

/**
 * The columns of an `events` insert, in the order `eventValues` gives a row's values: the sink
 * inserts JSONCompactEachRow (arrays), which chDB parses in ~15 % less CPU per row than
 * JSONEachRow's objects (5,000-row inserts with the materialized views: 278 → 232 ms, BENCHMARKS.md
 * issue 16 session 17), and whose JSON is shorter to make.
 */
export const EVENT_COLUMNS = [
  "event_id",
  "account_id",
  "message_id",
  "recipient_id",
  "recipient",
  "recipient_domain",
  "sender",
  "sending_domain",
  "smtp_user",
  "subject",
  "header_from",
  "status",
  "reason",
  "remote_reply",
  "mx_host",
  "is_test",
  "ts",
  "decision_class",
  "decision_rule",
  "decision_says",
] as const satisfies readonly (keyof EventRow)[];

/** Fails to compile if EventRow gains a column that EVENT_COLUMNS does not name. */
const everyColumn: Exclude<keyof EventRow, (typeof EVENT_COLUMNS)[number]> extends never ? true : never =
  true;
void everyColumn;

/** A row's values in EVENT_COLUMNS order; an absent decision is '' (the columns' default). */
export function eventValues(r: EventRow): (string | number)[] {
  return EVENT_COLUMNS.map((c) => r[c] ?? "");
}
