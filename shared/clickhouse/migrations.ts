/**
 * Versioned schema migrations, the same on chDB and on a server.
 *
 * Each migration lives in `migrations/NNNN_name.ts` as SQL strings (plain modules bundle for any
 * runtime; nothing is read from disk) and is listed in `MIGRATIONS` below. `migrate` applies the ones
 * not yet recorded in `schema_migrations`, in version order, each once, and records each after its last
 * statement succeeded. A failing statement stops the run with a `MigrationError` naming the migration;
 * nothing after it is applied, and the next run starts that migration again from its first statement.
 * ClickHouse DDL is not transactional, so every statement must be safe to run twice
 * (`CREATE TABLE IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`, ...).
 *
 * Two processes migrating the same server at once may both run a migration; with idempotent
 * statements that is harmless, and `schema_migrations` is a ReplacingMergeTree keyed by version, so
 * the record collapses to one row.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Migration } from "./migration.ts";
import { migration as m0001 } from "./migrations/0001_events.ts";
import { migration as m0002 } from "./migrations/0002_analytics.ts";
import { migration as m0003 } from "./migrations/0003_final_stats.ts";
import { migration as m0004 } from "./migrations/0004_edge_directory.ts";
import { migration as m0005 } from "./migrations/0005_activity_recipients.ts";
import { migration as m0006 } from "./migrations/0006_header_from.ts";
import { migration as m0007 } from "./migrations/0007_bounce_decision.ts";

export type { Migration };

export const MIGRATIONS: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005, m0006, m0007];

export const MIGRATIONS_TABLE = "schema_migrations";

export function migrationId(m: Pick<Migration, "version" | "name">): string {
  return `${String(m.version).padStart(4, "0")}_${m.name}`;
}

export class MigrationError extends Error {
  constructor(
    /** e.g. `0001_events` */
    readonly migration: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`migration ${migration}: ${message}`, options);
    this.name = "MigrationError";
  }
}

export interface MigrateResult {
  /** Migrations applied by this run, in order. */
  applied: Migration[];
  /** Highest version recorded after the run (0 = none). */
  version: number;
}

function validate(list: readonly Migration[]): void {
  let prev = 0;
  for (const m of list) {
    const id = migrationId(m);
    if (!Number.isInteger(m.version) || m.version <= prev) {
      throw new MigrationError(id, `version must be an integer greater than ${prev} (the one before it)`);
    }
    if (!/^[a-z0-9_]+$/.test(m.name)) throw new MigrationError(id, "name must match [a-z0-9_]+");
    if (m.statements.length === 0) throw new MigrationError(id, "has no statements");
    prev = m.version;
  }
}

/** Versions and names recorded as applied. */
export async function appliedMigrations(client: ClickHouseClient): Promise<Map<number, string>> {
  const rs = await client.query({
    query: `SELECT version, any(name) AS name FROM ${MIGRATIONS_TABLE} GROUP BY version ORDER BY version`,
    format: "JSONEachRow",
  });
  const rows = await rs.json<{ version: number | string; name: string }>();
  return new Map(rows.map((r) => [Number(r.version), r.name]));
}

export async function migrate(
  client: ClickHouseClient,
  list: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  validate(list);
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE}
(
    version UInt32,
    name String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY version`,
  });
  const done = await appliedMigrations(client);
  for (const m of list) {
    const recorded = done.get(m.version);
    if (recorded !== undefined && recorded !== m.name) {
      throw new MigrationError(
        migrationId(m),
        `version ${m.version} is recorded as applied under the name "${recorded}": the migration list and the database disagree`,
      );
    }
  }

  const applied: Migration[] = [];
  for (const m of list) {
    if (done.has(m.version)) continue;
    const id = migrationId(m);
    for (const [i, sql] of m.statements.entries()) {
      try {
        await client.command({ query: sql });
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new MigrationError(id, `statement ${i + 1} of ${m.statements.length} failed: ${why}`, {
          cause: e,
        });
      }
    }
    try {
      await client.insert({
        table: MIGRATIONS_TABLE,
        values: [{ version: m.version, name: m.name, applied_at: new Date().toISOString() }],
        format: "JSONEachRow",
      });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new MigrationError(id, `applied, but recording it failed: ${why}`, { cause: e });
    }
    done.set(m.version, m.name);
    applied.push(m);
  }
  return { applied, version: Math.max(0, ...done.keys()) };
}
