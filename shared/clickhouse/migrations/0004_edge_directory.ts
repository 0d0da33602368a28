import type { Migration } from "../migration.ts";

/**
 * The edge directory (issue 6 follow-up): what the edge read routes (edge-api/edge.ts) need to know
 * about callers and quotas, kept current by the relay (shared/analytics/edge-directory.ts), so that the
 * edge reads it over HTTP like the events instead of a static key table.
 *
 * - `edge_api_keys`: one row per API key id (C5). `key_hash` is the keyed hash the account actor keeps
 *   (HMAC-SHA256 of the whole key under the relay's HMAC key, hex; never the key). A revoked key keeps
 *   its row with `revoked = 1` and an empty hash: the edge refuses it on its next lookup.
 * - `edge_accounts`: one row per account (C1, C2, A7): status, time zone, plan quota and the current
 *   billing period (anchor day to roll it forward at the edge when the period closed in between).
 * Both are ReplacingMergeTree by `version` (the directory offset for keys, the writer's clock for
 * accounts) and are read with FINAL; rows written twice (replays) collapse. Same SQL on chDB and a server.
 */
export const migration: Migration = {
  version: 4,
  name: "edge_directory",
  statements: [
    `CREATE TABLE IF NOT EXISTS edge_api_keys
(
    key_id String,
    key_hash String,
    account_id String,
    scopes Array(LowCardinality(String)),
    revoked UInt8,
    revoked_at Nullable(DateTime64(3, 'UTC')),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY key_id`,
    `CREATE TABLE IF NOT EXISTS edge_accounts
(
    account_id String,
    status LowCardinality(String),
    timezone String,
    plan String,
    quota_limit UInt64,
    anchor_day UInt8,
    period_start DateTime64(3, 'UTC'),
    period_end DateTime64(3, 'UTC'),
    cancel_at Nullable(DateTime64(3, 'UTC')),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY account_id`,
  ],
};
