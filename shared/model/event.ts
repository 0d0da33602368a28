/**
 * A status event (A1, D9): one per recipient per status change, on topic `events.status`,
 * keyed by account id so an account's events keep their order. The ClickHouse sink writes them
 * to the `events` table (shared/clickhouse/migrations/0001_events.ts); Activity reads them.
 * This file owns the event: its one builder (`statusEvent`), encoder (`statusEventRecord`) and
 * decoder (`decodeStatusEvent`), used by both producers (ingress, the domain actor) and the sink.
 */
import { z } from "zod";
import { REASON_CLASSES } from "../bounce/rules.ts";
import type { OutRecord, TopicSpec } from "../bus/types.ts";
import { utf8 } from "../utf8.ts";
import { RecipientStatus, StatusReason } from "./status.ts";

export const STATUS_EVENTS_TOPIC = "events.status";
/** The topic's declaration: every producer and consumer that creates it uses this. */
export const STATUS_EVENTS_TOPIC_SPEC = (partitions: number): TopicSpec => ({
  name: STATUS_EVENTS_TOPIC,
  partitions,
});

/**
 * Which rule decided a failure (issue 15): the closed reason class, the rule's id and what it saw,
 * in a few words. Carried on Deferred/SoftBounce/HardBounce events the classifier decided, so
 * Activity can say "Soft bounce — blocklisted (Spamhaus listing in the reply)".
 */
export const BounceDecision = z.object({
  class: z.enum(REASON_CLASSES),
  rule: z.string().min(1),
  says: z.string(),
});
export type BounceDecision = z.infer<typeof BounceDecision>;

export const StatusEvent = z.object({
  /**
   * Deterministic, so a replayed or repeated emission dedups in ClickHouse:
   * `<recipientId>:<status>:<attempt>` (attempt 0 for statuses outside delivery).
   */
  eventId: z.string().min(1),
  accountId: z.string().min(1),
  messageId: z.string(),
  recipientId: z.string(),
  recipient: z.string(),
  recipientDomain: z.string(),
  sender: z.string(),
  sendingDomain: z.string(),
  smtpUser: z.string(),
  subject: z.string(),
  /**
   * The message's From header as the client wrote it (decoded, at most 998 characters), on the
   * events of submission once the headers were read (Accepted, and Rejected at DATA); "" otherwise
   * (delivery events, refusals before DATA). Optional: events from before it existed lack it (read as "").
   */
  headerFrom: z.string().optional(),
  status: RecipientStatus,
  reason: StatusReason,
  /** The remote server's reply, verbatim (multi-line joined with \n), or Petrel's own reply for Rejected. */
  remoteReply: z.string(),
  mxHost: z.string(),
  isTest: z.boolean(),
  /** Milliseconds since the epoch (UTC). */
  ts: z.number().int(),
  attempt: z.number().int().min(0).default(0),
  /** The classifier's decision; absent on other events and on events encoded before issue 15. */
  decision: BounceDecision.optional(),
});
export type StatusEvent = z.infer<typeof StatusEvent>;

export function statusEventId(recipientId: string, status: RecipientStatus, attempt = 0): string {
  return `${recipientId}:${status}:${attempt}`;
}

/** Who and what an event is about: the recipient's fields (a `RecipientRecord` has them all). */
export interface EventSubject {
  accountId: string;
  messageId: string;
  recipientId: string;
  recipient: string;
  recipientDomain: string;
  sender: string;
  sendingDomain: string;
  smtpUser: string;
  subject: string;
  /** The From header, when the session read it (see `StatusEvent.headerFrom`). */
  headerFrom?: string;
  isTest: boolean;
}

/** What happened to the recipient. */
export interface EventFacts {
  status: RecipientStatus;
  reason: StatusReason;
  remoteReply: string;
  mxHost: string;
  attempt: number;
  ts: number;
  decision?: BounceDecision | undefined;
}

/** The one builder: the deterministic id, and the fields in the order they are encoded. */
export function statusEvent(r: EventSubject, f: EventFacts): StatusEvent {
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
    headerFrom: r.headerFrom ?? "",
    status: f.status,
    reason: f.reason,
    remoteReply: f.remoteReply,
    mxHost: f.mxHost,
    isTest: r.isTest,
    ts: f.ts,
    attempt: f.attempt,
    ...(f.decision ? { decision: f.decision } : {}),
  };
}

const decoder = new TextDecoder();

/** The one encoding on the bus: JSON in UTF-8, keyed by account id. */
export function statusEventRecord(e: StatusEvent): OutRecord {
  return { key: e.accountId, value: utf8(JSON.stringify(e)) };
}

/** The one decoding: bytes that are not JSON, or not a status event, fail with a message. */
export function decodeStatusEvent(value: Uint8Array): z.ZodSafeParseResult<StatusEvent> {
  let json: unknown = null;
  try {
    json = JSON.parse(decoder.decode(value));
  } catch {
    // not JSON: fails the parse below
  }
  return StatusEvent.safeParse(json);
}
