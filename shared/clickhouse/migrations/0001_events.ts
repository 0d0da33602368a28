import type { Migration } from "../migration.ts";

/**
 * Per-recipient status events: one row per state change of one recipient of one message
 * (Accepted, Rejected, Pending, Delivered, Deferred, SoftBounce, HardBounce).
 *
 * - ORDER BY (account_id, ts, event_id): every read is "one account, a time range", which this key
 *   prunes to; event_id last makes the key unique per event.
 * - ReplacingMergeTree collapses rows with the same key, i.e. the same event written twice (a
 *   producer retry re-sends the event with its original event_id and ts). Readers that must not
 *   count a duplicate use `FINAL` (or `GROUP BY event_id`); merges remove them on disk eventually.
 * - non_replicated_deduplication_window: an insert whose block (or insert_deduplication_token)
 *   matches one of the last 1000 is dropped, so a retried batch is not even stored twice.
 * - Partitions by month, rows expire 90 days after ts.
 */
export const migration: Migration = {
  version: 1,
  name: "events",
  statements: [
    `CREATE TABLE IF NOT EXISTS events
(
    event_id String,
    account_id String,
    message_id String,
    recipient_id String,
    recipient String,
    recipient_domain LowCardinality(String),
    sender String,
    sending_domain LowCardinality(String),
    smtp_user String,
    subject String,
    status LowCardinality(String),
    reason String,
    remote_reply String,
    mx_host String,
    is_test UInt8,
    ts DateTime64(3, 'UTC'),
    INDEX idx_message_id message_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_recipient recipient TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (account_id, ts, event_id)
TTL toDateTime(ts) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000`,
  ],
};
