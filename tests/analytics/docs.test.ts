/**
 * A8: every SQL example of docs/clickhouse.md runs on chDB against the migrated schema, and the
 * document names every table and column the migrations create.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { EVENTS, insertEvents, liftTtl } from "./fixture.ts";

const doc = readFileSync(resolve(import.meta.dirname, "../../docs/clickhouse.md"), "utf8");
const examples = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim().replace(/;$/, ""));
const dataDir = mkdtempSync(join(tmpdir(), "petrel-docs-"));
let h: ClickHouseHandle;
let ttls: [string, boolean][] = [];

beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "docs" });
  await migrate(h.client);
  // A2: every table expires its rows after 90 days (checked before the fixture lifts the TTL).
  const rs = await h.client.query({
    query: `SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()
            AND name IN ('events', 'recipient_final', 'stats_hourly', 'stats_daily', 'stats_final', 'activity_recipients')
            ORDER BY name`,
    format: "JSONEachRow",
  });
  ttls = (await rs.json<{ name: string; engine_full: string }>()).map((t) => [
    t.name,
    /TTL .*INTERVAL 90 DAY/.test(t.engine_full) || /TTL .*toIntervalDay\(90\)/.test(t.engine_full),
  ]);
  await liftTtl(h.client);
  await insertEvents(h.client, EVENTS);
});
afterAll(async () => {
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("docs/clickhouse.md", () => {
  it("has examples", () => expect(examples.length).toBeGreaterThanOrEqual(5));

  it("every analytics table has the 90-day TTL (A2)", () => {
    expect(ttls).toEqual([
      ["activity_recipients", true],
      ["events", true],
      ["recipient_final", true],
      ["stats_daily", true],
      ["stats_final", true],
      ["stats_hourly", true],
    ]);
  });

  for (const [i, sql] of examples.entries()) {
    it(`example ${i + 1} runs`, async () => {
      const rs = await h.client.query({ query: sql.replaceAll("acct-123", "acme"), format: "JSONEachRow" });
      expect(Array.isArray(await rs.json())).toBe(true);
    });
  }

  it("documents every table and column of the schema", async () => {
    const rs = await h.client.query({
      query: `SELECT table, name FROM system.columns WHERE database = currentDatabase()
              AND table IN ('events', 'recipient_final', 'stats_hourly', 'stats_daily', 'stats_final', 'schema_migrations',
                            'edge_api_keys', 'edge_accounts', 'activity_recipients')`,
      format: "JSONEachRow",
    });
    const cols = await rs.json<{ table: string; name: string }>();
    expect(cols.length).toBeGreaterThan(30);
    const missing = cols.filter((c) => !doc.includes(`\`${c.name}\``) || !doc.includes(`\`${c.table}\``));
    expect(missing).toEqual([]);
  });

  it("the consistency check finds no difference, and the daily figures count the later bounce (A6)", async () => {
    const check = examples.find((s) => s.includes("FULL OUTER JOIN"))!.replaceAll("acct-123", "acme");
    const rs = await h.client.query({ query: check, format: "JSONEachRow" });
    expect(await rs.json()).toEqual([]);
    const daily = examples.find((s) => s.includes("FROM stats_final"))!.replaceAll("acct-123", "acme");
    const d = await h.client.query({ query: daily, format: "JSONEachRow" });
    const nov2 = (await d.json<{ day: string; hard_bounces: string; total_recipients: string }>()).find(
      (r) => r.day === "2026-11-02",
    );
    expect(nov2).toMatchObject({ total_recipients: "4", hard_bounces: "1" });
  });

  it("the A6 example finds the Delivered that bounced later", async () => {
    const sql = examples.find((s) => s.includes("bounced_at"))!.replaceAll("acct-123", "acme");
    const rs = await h.client.query({ query: sql, format: "JSONEachRow" });
    expect((await rs.json<{ recipient_id: string }>()).map((r) => r.recipient_id)).toEqual(["m3.0"]);
  });
});
