/**
 * The ClickHouse contract: the same SQL, through the same `@clickhouse/client` API, gives the same
 * results on every backend. Run unchanged by tests/clickhouse/chdb.test.ts (embedded chDB) and by
 * tests/clickhouse/http.test.ts over HTTP (a server at PETREL_TEST_CLICKHOUSE_URL, else the chDB stand-in).
 */
import { randomUUID } from "node:crypto";
import { ClickHouseError } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventRow } from "../../shared/analytics/rows.ts";
import { type ClickHouseHandle, toDateTime64 } from "../../shared/clickhouse/client.ts";
import {
  appliedMigrations,
  MIGRATIONS,
  type Migration,
  MigrationError,
  migrate,
  migrationId,
} from "../../shared/clickhouse/migrations.ts";

export interface StoreFixture {
  /** Opens a handle on the backend under test; the same database name reaches the same data. */
  open(database: string): Promise<ClickHouseHandle>;
  cleanup(): Promise<void>;
}

/** The row shape is the product's own (shared/analytics/rows.ts). */
export type { EventRow };

export function eventRow(
  over: Partial<Omit<EventRow, "ts">> & { account_id: string; ts: Date | string },
): EventRow {
  const { ts, ...rest } = over;
  return {
    event_id: randomUUID(),
    message_id: randomUUID(),
    recipient_id: randomUUID(),
    recipient: "rcpt@example.org",
    recipient_domain: "example.org",
    sender: "app@sender.test",
    sending_domain: "sender.test",
    smtp_user: "smtp-user",
    subject: "Hello",
    header_from: "",
    status: "Accepted",
    reason: "",
    remote_reply: "",
    mx_host: "",
    is_test: 0,
    decision_class: "",
    decision_rule: "",
    decision_says: "",
    ...rest,
    ts: ts instanceof Date ? toDateTime64(ts) : ts,
  };
}

const dbName = (what: string) => `petrel_${what}_${randomUUID().replaceAll("-", "").slice(0, 10)}`;

async function rows<T>(h: ClickHouseHandle, query: string, query_params?: Record<string, unknown>) {
  const rs = await h.client.query({
    query,
    format: "JSONEachRow",
    ...(query_params ? { query_params } : {}),
  });
  return rs.json<T>();
}

async function insertEvents(h: ClickHouseHandle, values: EventRow[], token?: string) {
  await h.client.insert({
    table: "events",
    values,
    format: "JSONEachRow",
    ...(token ? { clickhouse_settings: { insert_deduplication_token: token } } : {}),
  });
}

export function storeContract(name: string, setup: () => Promise<StoreFixture>) {
  describe(`ClickHouse contract: ${name}`, () => {
    let fx: StoreFixture;
    let h: ClickHouseHandle;
    const database = dbName("main");
    const handles: ClickHouseHandle[] = [];
    const open = async (db: string) => {
      const handle = await fx.open(db);
      handles.push(handle);
      return handle;
    };
    // A minute-aligned base an hour ago: well inside the 90-day TTL.
    const base = new Date(Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000);
    const at = (minutes: number) => new Date(base.getTime() + minutes * 60_000);

    beforeAll(async () => {
      fx = await setup();
      h = await open(database);
    });
    afterAll(async () => {
      for (const handle of handles) await handle.close().catch(() => {});
      await fx?.cleanup();
    });

    it("applies the migrations once; a second run applies nothing", async () => {
      const first = await migrate(h.client);
      expect(first.applied.map(migrationId)).toEqual(MIGRATIONS.map(migrationId));
      expect(first.version).toBe(MIGRATIONS.at(-1)!.version);

      const second = await migrate(h.client);
      expect(second.applied).toEqual([]);
      expect(second.version).toBe(first.version);

      const recorded = await rows<{ version: number; name: string; applied_at: string }>(
        h,
        "SELECT version, name, applied_at FROM schema_migrations FINAL ORDER BY version",
      );
      expect(recorded.map((r) => `${r.version}:${r.name}`)).toEqual(
        MIGRATIONS.map((m) => `${m.version}:${m.name}`),
      );
      const appliedAt = new Date(`${recorded[0]!.applied_at.replace(" ", "T")}Z`).getTime();
      expect(Math.abs(Date.now() - appliedAt)).toBeLessThan(10 * 60_000);
    });

    it("creates events with the designed engine, keys, TTL and column types", async () => {
      const [t] = await rows<{
        engine: string;
        sorting_key: string;
        partition_key: string;
        engine_full: string;
      }>(
        h,
        "SELECT engine, sorting_key, partition_key, engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'",
      );
      expect(t).toBeDefined();
      expect(t!.engine).toBe("ReplacingMergeTree");
      expect(t!.sorting_key).toBe("account_id, ts, event_id");
      expect(t!.partition_key).toBe("toYYYYMM(ts)");
      expect(t!.engine_full).toMatch(/TTL toDateTime\(ts\) \+ (toIntervalDay\(90\)|INTERVAL 90 DAY)/);
      expect(t!.engine_full).toContain("non_replicated_deduplication_window = 1000");

      const cols = await rows<{ name: string; type: string }>(
        h,
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'events' ORDER BY position",
      );
      expect(Object.fromEntries(cols.map((c) => [c.name, c.type]))).toEqual({
        event_id: "String",
        account_id: "String",
        message_id: "String",
        recipient_id: "String",
        recipient: "String",
        recipient_domain: "LowCardinality(String)",
        sender: "String",
        sending_domain: "LowCardinality(String)",
        smtp_user: "String",
        subject: "String",
        header_from: "String",
        status: "LowCardinality(String)",
        reason: "String",
        remote_reply: "String",
        mx_host: "String",
        is_test: "UInt8",
        ts: "DateTime64(3, 'UTC')",
        // migration 0007 (issue 15): the bounce classifier's decision
        decision_class: "LowCardinality(String)",
        decision_rule: "LowCardinality(String)",
        decision_says: "String",
      });
    });

    it("inserts JSONEachRow and reads one account's time range back through query parameters", async () => {
      const acct = `acct-${randomUUID()}`;
      const other = `acct-${randomUUID()}`;
      const mine = [0, 1, 2, 3].map((i) =>
        eventRow({ account_id: acct, ts: at(i), status: i % 2 ? "Delivered" : "Accepted", subject: `s${i}` }),
      );
      // ISO-8601 input is accepted as well as `YYYY-MM-DD hh:mm:ss.fff` (date_time_input_format parity).
      mine.push(
        eventRow({ account_id: acct, ts: at(4).toISOString(), subject: "iso", status: "HardBounce" }),
      );
      await insertEvents(h, [...mine, eventRow({ account_id: other, ts: at(1) })]);

      const got = await rows<EventRow>(
        h,
        `SELECT * FROM events
         WHERE account_id = {account:String} AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}
         ORDER BY ts`,
        { account: acct, from: toDateTime64(at(1)), to: toDateTime64(at(4)) },
      );
      expect(got.map((r) => r.subject)).toEqual(["s1", "s2", "s3"]);
      expect(got[0]).toEqual(mine[1]);

      const [agg] = await rows<{ n: string; last: string; statuses: string[] }>(
        h,
        "SELECT count() AS n, max(ts) AS last, groupUniqArray(status) AS statuses FROM events WHERE account_id = {account:String}",
        { account: acct },
      );
      // 64-bit integers come back as strings on every backend (output_format_json_quote_64bit_integers=1).
      expect(agg!.n).toBe("5");
      expect(agg!.last).toBe(toDateTime64(at(4)));
      expect([...agg!.statuses].sort()).toEqual(["Accepted", "Delivered", "HardBounce"]);
    });

    it("counts an event written twice (producer retry, new batch) once with FINAL", async () => {
      const acct = `acct-${randomUUID()}`;
      const dup = eventRow({ account_id: acct, ts: at(10), status: "Delivered" });
      await insertEvents(h, [dup, eventRow({ account_id: acct, ts: at(11) })]);
      await insertEvents(h, [eventRow({ account_id: acct, ts: at(12) }), dup]);

      const [final] = await rows<{ n: string; ids: string }>(
        h,
        "SELECT count() AS n, uniqExact(event_id) AS ids FROM events FINAL WHERE account_id = {account:String}",
        { account: acct },
      );
      expect(final).toEqual({ n: "3", ids: "3" });
      const [byId] = await rows<{ n: string }>(
        h,
        "SELECT count() AS n FROM events FINAL WHERE account_id = {account:String} AND event_id = {id:String}",
        { account: acct, id: dup.event_id },
      );
      expect(byId!.n).toBe("1");
    });

    it("drops a retried batch at insert: same block, or same insert_deduplication_token", async () => {
      const acct = `acct-${randomUUID()}`;
      const count = async () =>
        (
          await rows<{ n: string }>(
            h,
            "SELECT count() AS n FROM events WHERE account_id = {account:String}",
            {
              account: acct,
            },
          )
        )[0]!.n;
      const batch = [eventRow({ account_id: acct, ts: at(20) }), eventRow({ account_id: acct, ts: at(21) })];

      await insertEvents(h, batch);
      await insertEvents(h, batch); // identical block: dropped by non_replicated_deduplication_window
      expect(await count()).toBe("2");

      const token = `batch-${randomUUID()}`;
      const tokened = [eventRow({ account_id: acct, ts: at(22) })];
      await insertEvents(h, tokened, token);
      // The retry re-serialises differently (here: another row order / content), same token: dropped.
      await insertEvents(h, [eventRow({ account_id: acct, ts: at(23) }), ...tokened], token);
      expect(await count()).toBe("3");

      // The token belongs to its call only: the next insert without one is stored.
      await insertEvents(h, [eventRow({ account_id: acct, ts: at(24) })]);
      expect(await count()).toBe("4");
    });

    it("keeps per-call settings to their call", async () => {
      const [withSetting] = await rows<{ t: string }>(
        h,
        "SELECT getSetting('insert_deduplication_token') AS t",
      );
      expect(withSetting!.t).toBe("");
      const rs = await h.client.query({
        query: "SELECT getSetting('insert_deduplication_token') AS t",
        format: "JSONEachRow",
        clickhouse_settings: { insert_deduplication_token: "only-this-call" },
      });
      expect(await rs.json()).toEqual([{ t: "only-this-call" }]);
      const [after] = await rows<{ t: string }>(h, "SELECT getSetting('insert_deduplication_token') AS t");
      expect(after!.t).toBe("");
      await h.client.command({ query: "SET max_result_rows = 1" });
      const [db] = await rows<{ d: string; m: string }>(
        h,
        "SELECT currentDatabase() AS d, toString(getSetting('max_result_rows')) AS m",
      );
      expect(db).toEqual({ d: database, m: "0" });
    });

    it("serves concurrent inserts and queries from one handle", async () => {
      const acct = `acct-${randomUUID()}`;
      const writes = Array.from({ length: 12 }, (_, i) =>
        insertEvents(h, [eventRow({ account_id: acct, ts: at(30 + i) })]),
      );
      const reads = Array.from({ length: 6 }, () =>
        rows<{ n: string }>(h, "SELECT count() AS n FROM events"),
      );
      await Promise.all([...writes, ...reads]);
      const [n] = await rows<{ n: string }>(
        h,
        "SELECT count() AS n FROM events WHERE account_id = {account:String}",
        {
          account: acct,
        },
      );
      expect(n!.n).toBe("12");
    });

    it("throws @clickhouse/client's ClickHouseError with the server's code", async () => {
      const err = await h.client.query({ query: "SELECT * FROM no_such_table" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClickHouseError);
      expect(err).toMatchObject({ code: "60", type: "UNKNOWN_TABLE" });
    });

    it("stops at a failed migration, naming it, and retries it on the next run", async () => {
      const db = await open(dbName("mig"));
      const after: Migration = {
        version: 3,
        name: "after",
        statements: ["CREATE TABLE IF NOT EXISTS t3 (x UInt8) ENGINE = MergeTree ORDER BY x"],
      };
      const broken: Migration = {
        version: 2,
        name: "broken",
        statements: [
          "CREATE TABLE IF NOT EXISTS t2 (x UInt8) ENGINE = MergeTree ORDER BY x",
          "CREATE TABLE t2b (",
        ],
      };
      const err = await migrate(db.client, [MIGRATIONS[0]!, broken, after]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationError);
      expect((err as MigrationError).migration).toBe("0002_broken");
      expect((err as Error).message).toMatch(/^migration 0002_broken: statement 2 of 2 failed: /);
      expect([...(await appliedMigrations(db.client)).keys()]).toEqual([1]);
      const t3 = await rows(
        db,
        "SELECT 1 FROM system.tables WHERE database = currentDatabase() AND name = 't3'",
      );
      expect(t3).toEqual([]);

      const fixed: Migration = {
        ...broken,
        statements: [
          broken.statements[0]!,
          "CREATE TABLE IF NOT EXISTS t2b (x UInt8) ENGINE = MergeTree ORDER BY x",
        ],
      };
      const res = await migrate(db.client, [MIGRATIONS[0]!, fixed, after]);
      expect(res.applied.map(migrationId)).toEqual(["0002_broken", "0003_after"]);
      expect(res.version).toBe(3);

      const drift = await migrate(db.client, [{ ...MIGRATIONS[0]!, name: "renamed" }]).catch(
        (e: unknown) => e,
      );
      expect(drift).toBeInstanceOf(MigrationError);
      expect((drift as Error).message).toContain('recorded as applied under the name "events"');
    });

    it("keeps the data across close and reopen", async () => {
      const acct = `acct-${randomUUID()}`;
      const ev = eventRow({ account_id: acct, ts: at(50), subject: "persisted" });
      await insertEvents(h, [ev]);
      await h.close();

      h = await open(database);
      expect((await migrate(h.client)).applied).toEqual([]);
      const got = await rows<EventRow>(h, "SELECT * FROM events WHERE account_id = {account:String}", {
        account: acct,
      });
      expect(got).toEqual([ev]);
    });
  });
}
