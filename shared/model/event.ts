/**
 * A status event (A1, D9): one per recipient per status change, on topic `events.status`,
 * keyed by account id so an account's events keep their order. The ClickHouse sink writes them
 * to the `events` table (shared/clickhouse/migrations/0001_events.ts); Activity reads them.
 */
import { z } from "zod";
import type { TopicSpec } from "../bus/types.ts";
import { RecipientStatus, StatusReason } from "./status.ts";

export const STATUS_EVENTS_TOPIC = "events.status";
/** The topic's declaration: every producer and consumer that creates it uses this. */
export const STATUS_EVENTS_TOPIC_SPEC = (partitions: number): TopicSpec => ({
  name: STATUS_EVENTS_TOPIC,
  partitions,
});

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
  status: RecipientStatus,
  reason: StatusReason,
  /** The remote server's reply, verbatim (multi-line joined with \n), or Petrel's own reply for Rejected. */
  remoteReply: z.string(),
  mxHost: z.string(),
  isTest: z.boolean(),
  /** Milliseconds since the epoch (UTC). */
  ts: z.number().int(),
  attempt: z.number().int().min(0).default(0),
});
export type StatusEvent = z.infer<typeof StatusEvent>;

export function statusEventId(recipientId: string, status: RecipientStatus, attempt = 0): string {
  return `${recipientId}:${status}:${attempt}`;
}
