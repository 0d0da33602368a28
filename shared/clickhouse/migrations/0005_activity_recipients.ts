import type { Migration } from "../migration.ts";

/**
 * `activity_recipients`: what Activity's recipient view reads (A1 as corrected, seeds 002/003): the
 * current state of every recipient, kept by a materialized view from `events`, so the default Activity
 * list does not aggregate all events at read time.
 *
 * Rows, keyed by (account_id, recipient_id, row_kind), one per key after merge (read with FINAL):
 * - `row_kind = 1`: the recipient's latest event (its current status).
 * - `row_kind = 0`: the recipient's Delivered event. Shown only when the recipient's current status is a
 *   bounce (a later SoftBounce/HardBounce, seed 003: "the Delivered activity followed by the bounce");
 *   otherwise it is the same event as the `row_kind = 1` row and is not shown.
 *
 * ReplacingMergeTree(version), version = ms of the event × 8 + status rank (Accepted 1 … Rejected 7,
 * as `stats_final.final_key`): the latest event wins, ties at one millisecond by rank, so a bounce at the
 * same millisecond as Delivered is still current. A replayed event carries the same version and the same
 * columns as the row it repeats, so inserting it again changes nothing, whatever the batch boundaries;
 * an event arriving late (older than the recipient's others) loses to the stored newer one.
 *
 * Migration order: table, view, then the backfill from `events` (after the view: an event inserted
 * between the two is written by both, which the replacing key collapses; running it again is harmless).
 * Also a bloom filter on `events.recipient_id` for the timeline (GET /v1/activity/{recipientId}).
 */
const RANK = (st: string) =>
  `multiIf(${st} = 'Accepted', 1, ${st} = 'Pending', 2, ${st} = 'Deferred', 3, ${st} = 'Delivered', 4, ${st} = 'SoftBounce', 5, ${st} = 'HardBounce', 6, ${st} = 'Rejected', 7, 0)`;

/** The view's and the backfill's SELECT: one kind-1 row per event, plus a kind-0 row for Delivered. */
export const ACTIVITY_SELECT = `SELECT account_id, recipient_id, row_kind,
    toUInt64(toUnixTimestamp64Milli(ts)) * 8 + ${RANK("toString(status)")} AS version,
    event_id, ts, status, reason, message_id, recipient, recipient_domain, sender, sending_domain, smtp_user,
    subject, remote_reply, mx_host, is_test
FROM events
ARRAY JOIN if(status = 'Delivered', [toUInt8(1), toUInt8(0)], [toUInt8(1)]) AS row_kind`;

export const migration: Migration = {
  version: 5,
  name: "activity_recipients",
  statements: [
    `CREATE TABLE IF NOT EXISTS activity_recipients
(
    account_id String,
    recipient_id String,
    row_kind UInt8,
    version UInt64,
    event_id String,
    ts DateTime64(3, 'UTC'),
    status LowCardinality(String),
    reason String,
    message_id String,
    recipient String,
    recipient_domain LowCardinality(String),
    sender String,
    sending_domain LowCardinality(String),
    smtp_user String,
    subject String,
    remote_reply String,
    mx_host String,
    is_test UInt8,
    INDEX idx_ar_message_id message_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_ar_recipient_lower lowerUTF8(recipient) TYPE bloom_filter GRANULARITY 4,
    INDEX idx_ar_sender_lower lowerUTF8(sender) TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (account_id, recipient_id, row_kind)
TTL toDateTime(ts) + INTERVAL 90 DAY`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS activity_recipients_mv TO activity_recipients AS
${ACTIVITY_SELECT}`,
    `INSERT INTO activity_recipients (account_id, recipient_id, row_kind, version, event_id, ts, status, reason,
    message_id, recipient, recipient_domain, sender, sending_domain, smtp_user, subject, remote_reply, mx_host, is_test)
${ACTIVITY_SELECT}`,
    `ALTER TABLE events ADD INDEX IF NOT EXISTS idx_recipient_id recipient_id TYPE bloom_filter GRANULARITY 4`,
    `ALTER TABLE events MATERIALIZE INDEX idx_recipient_id`,
  ],
};
