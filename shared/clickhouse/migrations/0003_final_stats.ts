import type { Migration } from "../migration.ts";

/**
 * `stats_final`: the final-status pre-aggregate that Statistics read (A4–A6), maintained with
 * corrections when a recipient's final status changes (a later bounce supersedes Delivered, A6).
 *
 * One table, two kinds of rows (the `kind` column), both written by one materialized view in one
 * part per inserted block:
 * - kind 0, one per recipient (after merge): what the recipient currently counts as. `first_ts` (its
 *   first event), `final_key` = max(ts in ms × 8 + status rank), which encodes its final status (the
 *   status of its latest event, ties by rank, exactly `recipient_final`'s argMax), `state_domain` (its
 *   sending domain) and `is_test`.
 * - kind 1, count rows: `recipients` = +1 / −1 per (account, 15-minute UTC slot of the first event,
 *   sending domain, final status). Summed, a slot holds exactly the recipients whose first event is in
 *   it, by final status, sandbox left out.
 *
 * The view joins each inserted block, grouped per recipient, with that recipient's kind-0 row already
 * stored, and writes the merged kind-0 row plus, when what the recipient counts as changed, −1 for
 * what it counted as and +1 for what it counts as now. Why that is exact:
 * - Replays: the sink re-inserts whole batches (other boundaries allowed). A replayed event is already
 *   in the stored kind-0 row, so merging it again changes nothing and no count row is written (min,
 *   max are idempotent). The kind-0 row and its count rows are in the same part of the same table, so
 *   they are stored together or not at all: a crash never leaves a counted change without its state
 *   (or the reverse), whatever happened to `events` and the other views.
 * - Supersession and out-of-order events: the correction is (new − old) of the recipient's whole
 *   contribution, so a later bounce moves it from Delivered to HardBounce, and an earlier event arriving
 *   late moves it to another slot.
 * - Requirements (docs/clickhouse.md): one recipient's events are not inserted by two INSERTs running
 *   at the same time, and one INSERT is one block (the sink: one insert at a time per process, an
 *   account's events on one partition, batches ≤ 5,000 rows ≪ max_insert_block_size). The table has no
 *   PARTITION BY, so a block is one part.
 * - 15-minute slots: every zone's hour and day boundaries fall on them (all offsets in use are
 *   multiples of 15 minutes), so local hours/days are sums of whole slots; the query code checks this
 *   and reads raw `recipient_final` for whatever is not whole slots (shared/analytics/final-stats.ts).
 *
 * Also: skip indexes on lowerUTF8(recipient) and lowerUTF8(sender) for Activity's any-case search.
 *
 * Migration order: table, backfill from `recipient_final` if the table is empty, then the view (run at
 * start-up before the sink; every statement is safe to run again).
 */
const RANK = (st: string) =>
  `multiIf(${st} = 'Accepted', 1, ${st} = 'Pending', 2, ${st} = 'Deferred', 3, ${st} = 'Delivered', 4, ${st} = 'SoftBounce', 5, ${st} = 'HardBounce', 6, ${st} = 'Rejected', 7, 0)`;

/** Status of a final_key (rank in its low 3 bits). */
export const STATUS_OF_KEY = (key: string) =>
  `arrayElement(['', 'Accepted', 'Pending', 'Deferred', 'Delivered', 'SoftBounce', 'HardBounce', 'Rejected'], toUInt32(${key} % 8) + 1)`;

const SLOT = (ts: string) => `toStartOfFifteenMinutes(toDateTime(${ts}, 'UTC'))`;

/** Count row tuple of a recipient state: (counts, slot, domain, status); counts = 0 for none. */
const CONTRIB = (present: string, first: string, key: string, dom: string, test: string) =>
  `if(${present} AND ${test} = 0, tuple(toUInt8(1), ${SLOT(first)}, ${dom}, ${STATUS_OF_KEY(key)}), tuple(toUInt8(0), toDateTime(0, 'UTC'), '', ''))`;

const COLUMNS = `account_id, kind, recipient_id, slot, sending_domain, status, recipients, first_ts, final_key, state_domain, is_test`;

export const migration: Migration = {
  version: 3,
  name: "final_stats",
  statements: [
    `CREATE TABLE IF NOT EXISTS stats_final
(
    account_id String,
    kind UInt8,
    recipient_id String,
    slot DateTime('UTC'),
    sending_domain LowCardinality(String),
    status LowCardinality(String),
    recipients SimpleAggregateFunction(sum, Int64),
    first_ts SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    final_key SimpleAggregateFunction(max, UInt64),
    state_domain SimpleAggregateFunction(min, String),
    is_test SimpleAggregateFunction(max, UInt8)
)
ENGINE = AggregatingMergeTree
ORDER BY (account_id, kind, recipient_id, slot, sending_domain, status)
TTL if(kind = 0, toDateTime(intDiv(final_key, 8000), 'UTC'), slot) + INTERVAL 90 DAY`,
    // Backfill: the recipients already in recipient_final (only into an empty table: a second run after
    // a failure between this statement and the next must not count them twice).
    `INSERT INTO stats_final (${COLUMNS})
SELECT account_id, k AS kind, if(k = 0, recipient_id, '') AS recipient_id,
    if(k = 0, toDateTime(0, 'UTC'), ${SLOT("first")}) AS slot,
    if(k = 0, '', dom) AS sending_domain, if(k = 0, '', ${STATUS_OF_KEY("fkey")}) AS status,
    toInt64(k) AS recipients,
    if(k = 0, first, toDateTime64(0, 3, 'UTC')) AS first_ts,
    if(k = 0, fkey, 0) AS final_key, if(k = 0, dom, '') AS state_domain, if(k = 0, test, 0) AS is_test
FROM (
    SELECT account_id, recipient_id, min(first_ts) AS first,
        toUInt64(toUnixTimestamp64Milli(max(last_ts))) * 8 + ${RANK("argMaxMerge(status)")} AS fkey,
        min(sending_domain) AS dom, max(is_test) AS test
    FROM recipient_final
    GROUP BY account_id, recipient_id
)
ARRAY JOIN if(test = 0, [0, 1], [0]) AS k
WHERE (SELECT count() FROM stats_final) = 0`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS stats_final_mv TO stats_final AS
SELECT account_id, r.1 AS kind, if(r.1 = 0, recipient_id, '') AS recipient_id, r.2 AS slot,
    r.3 AS sending_domain, r.4 AS status, r.5 AS recipients,
    if(r.1 = 0, nf, toDateTime64(0, 3, 'UTC')) AS first_ts, if(r.1 = 0, nk, 0) AS final_key,
    if(r.1 = 0, nd, '') AS state_domain, if(r.1 = 0, nt, 0) AS is_test
FROM (
    SELECT b.account_id AS account_id, b.recipient_id AS recipient_id, o.present = 1 AS had,
        if(had, least(o.first, b.first), b.first) AS nf,
        greatest(o.fkey, b.fkey) AS nk,
        if(had, least(o.dom, b.dom), b.dom) AS nd,
        greatest(o.test, b.test) AS nt,
        ${CONTRIB("had", "o.first", "o.fkey", "o.dom", "o.test")} AS oc,
        ${CONTRIB("1", "nf", "nk", "nd", "nt")} AS nc,
        arrayConcat(
            if(NOT had OR (nf, nk, nd, nt) != (o.first, o.fkey, o.dom, o.test),
                [tuple(toUInt8(0), toDateTime(0, 'UTC'), '', '', toInt64(0))], []),
            if(oc.1 = 1 AND oc != nc, [tuple(toUInt8(1), oc.2, oc.3, oc.4, toInt64(-1))], []),
            if(nc.1 = 1 AND oc != nc, [tuple(toUInt8(1), nc.2, nc.3, nc.4, toInt64(1))], [])
        ) AS rows
    FROM (
        SELECT account_id, recipient_id, min(ts) AS first,
            max(toUInt64(toUnixTimestamp64Milli(ts)) * 8 + ${RANK("toString(status)")}) AS fkey,
            min(toString(sending_domain)) AS dom, max(is_test) AS test
        FROM events
        GROUP BY account_id, recipient_id
    ) AS b
    LEFT JOIN (
        SELECT account_id, recipient_id, toUInt8(1) AS present, min(first_ts) AS first,
            max(final_key) AS fkey, min(state_domain) AS dom, max(is_test) AS test
        FROM stats_final
        WHERE kind = 0 AND (account_id, recipient_id) IN (SELECT account_id, recipient_id FROM events)
        GROUP BY account_id, recipient_id
    ) AS o ON o.account_id = b.account_id AND o.recipient_id = b.recipient_id
)
ARRAY JOIN rows AS r`,
    // Activity search by recipient or sender in any case (A3): skip indexes on the lower-cased
    // address, used by `lowerUTF8(recipient) = lowerUTF8(...)`; MATERIALIZE builds them for old parts.
    `ALTER TABLE events ADD INDEX IF NOT EXISTS idx_recipient_lower lowerUTF8(recipient) TYPE bloom_filter GRANULARITY 4`,
    `ALTER TABLE events ADD INDEX IF NOT EXISTS idx_sender_lower lowerUTF8(sender) TYPE bloom_filter GRANULARITY 4`,
    `ALTER TABLE events MATERIALIZE INDEX idx_recipient_lower`,
    `ALTER TABLE events MATERIALIZE INDEX idx_sender_lower`,
  ],
};
