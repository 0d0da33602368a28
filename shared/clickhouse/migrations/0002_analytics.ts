import type { Migration } from "../migration.ts";

/**
 * What Statistics read (A4–A6), derived from `events` by materialized views, so the sink writes one
 * table and the figures follow.
 *
 * Every derived table is built from aggregate functions that give the same result when an event is
 * inserted twice (min, max, any, argMax, uniqExact): a replayed event cannot change a figure, whatever
 * the batch boundaries of the replay were (exactly once in effect, with the sink's own dedup in front).
 *
 * - `recipient_final` (A5/A6): one row per recipient after merge: first and last event time, the
 *   message's fields, and its final status = the status of its latest event (ties broken by status
 *   rank, so a bounce at the same millisecond as Delivered still wins). Read with `GROUP BY
 *   account_id, recipient_id` and the -Merge combinators (see docs/clickhouse.md).
 * - `stats_hourly`: per account, sending domain, UTC hour and status, the distinct recipients that
 *   reached that status in that hour (event time). For analysts and coarse dashboards; the exact
 *   final-status figures come from `recipient_final`.
 * - `stats_daily`: the same per UTC day.
 */
const STATUS_RANK = `multiIf(st = 'Accepted', 1, st = 'Pending', 2, st = 'Deferred', 3, st = 'Delivered', 4, st = 'SoftBounce', 5, st = 'HardBounce', 6, st = 'Rejected', 7, 0)`;

export const migration: Migration = {
  version: 2,
  name: "analytics",
  statements: [
    `CREATE TABLE IF NOT EXISTS recipient_final
(
    account_id String,
    recipient_id String,
    first_ts SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_ts SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    message_id SimpleAggregateFunction(any, String),
    recipient SimpleAggregateFunction(any, String),
    recipient_domain SimpleAggregateFunction(any, String),
    sender SimpleAggregateFunction(any, String),
    sending_domain SimpleAggregateFunction(any, String),
    smtp_user SimpleAggregateFunction(any, String),
    subject SimpleAggregateFunction(any, String),
    is_test SimpleAggregateFunction(max, UInt8),
    status AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt8)),
    reason AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt8))
)
ENGINE = AggregatingMergeTree
ORDER BY (account_id, recipient_id)
TTL toDateTime(last_ts) + INTERVAL 90 DAY`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS recipient_final_mv TO recipient_final AS
SELECT
    account_id,
    recipient_id,
    min(ts) AS first_ts,
    max(ts) AS last_ts,
    any(message_id) AS message_id,
    any(recipient) AS recipient,
    any(recipient_domain) AS recipient_domain,
    any(sender) AS sender,
    any(sending_domain) AS sending_domain,
    any(smtp_user) AS smtp_user,
    any(subject) AS subject,
    max(is_test) AS is_test,
    argMaxState(st, (ts, toUInt8(${STATUS_RANK}))) AS status,
    argMaxState(rs, (ts, toUInt8(${STATUS_RANK}))) AS reason
FROM (SELECT *, toString(status) AS st, reason AS rs FROM events)
GROUP BY account_id, recipient_id`,
    `CREATE TABLE IF NOT EXISTS stats_hourly
(
    account_id String,
    sending_domain LowCardinality(String),
    hour DateTime('UTC'),
    status LowCardinality(String),
    is_test UInt8,
    recipients AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (account_id, hour, sending_domain, status, is_test)
TTL hour + INTERVAL 90 DAY`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS stats_hourly_mv TO stats_hourly AS
SELECT account_id, sending_domain, toStartOfHour(toDateTime(ts, 'UTC')) AS hour, toString(status) AS status,
    is_test, uniqExactState(recipient_id) AS recipients
FROM events
GROUP BY account_id, sending_domain, hour, status, is_test`,
    `CREATE TABLE IF NOT EXISTS stats_daily
(
    account_id String,
    sending_domain LowCardinality(String),
    day Date,
    status LowCardinality(String),
    is_test UInt8,
    recipients AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (account_id, day, sending_domain, status, is_test)
TTL day + INTERVAL 90 DAY`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS stats_daily_mv TO stats_daily AS
SELECT account_id, sending_domain, toDate(ts, 'UTC') AS day, toString(status) AS status,
    is_test, uniqExactState(recipient_id) AS recipients
FROM events
GROUP BY account_id, sending_domain, day, status, is_test`,
  ],
};
