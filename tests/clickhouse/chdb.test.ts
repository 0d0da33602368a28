/**
 * The ClickHouse contract on embedded chDB, plus what only chDB has: one engine per process, shared by
 * handles on the same directory, and data that outlives the process.
 *
 * This file holds chDB's one engine for its process (vitest's forks pool gives each test file its
 * own), so every test here uses the same data directory except the one that proves a second is refused
 * while the first is open and accepted once it is closed.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import {
  ChdbEngineInUseError,
  type ClickHouseHandle,
  openClickHouse,
} from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { eventRow, storeContract } from "./store.case.ts";

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), "petrel-chdb-"));
const otherDir = mkdtempSync(join(tmpdir(), "petrel-chdb-other-"));
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(otherDir, { recursive: true, force: true });
});

storeContract("chDB (embedded, on disk)", async () => ({
  open: (database) => openClickHouse({ dataDir, database }),
  cleanup: async () => {},
}));

describe("chDB engine", () => {
  const open: ClickHouseHandle[] = [];
  afterAll(async () => {
    for (const h of open) await h.close();
  });
  const count = async (h: ClickHouseHandle, account: string) => {
    const rs = await h.client.query({
      query: "SELECT count() AS n FROM events WHERE account_id = {account:String}",
      query_params: { account },
      format: "JSONEachRow",
    });
    return (await rs.json<{ n: string }>())[0]!.n;
  };

  it("lives on disk under <dataDir>/clickhouse, in an Atomic database", async () => {
    const h = await openClickHouse({ dataDir });
    open.push(h);
    expect(h.backend).toBe("chdb");
    expect(h.path).toBe(resolve(dataDir, "clickhouse"));
    await migrate(h.client);
    const rs = await h.client.query({
      query: "SELECT engine, data_path FROM system.databases WHERE name = currentDatabase()",
      format: "JSONEachRow",
    });
    const [db] = await rs.json<{ engine: string; data_path: string }>();
    expect(db!.engine).toBe("Atomic");
    expect(db!.data_path.startsWith(resolve(dataDir, "clickhouse"))).toBe(true);
  });

  it("shares the open engine between handles on the same directory", async () => {
    const a = await openClickHouse({ dataDir });
    const b = await openClickHouse({ dataDir });
    const acct = "shared-engine";
    await a.client.insert({
      table: "events",
      values: [eventRow({ account_id: acct, ts: new Date() })],
      format: "JSONEachRow",
    });
    expect(await count(b, acct)).toBe("1");
    await a.close();
    await a.close(); // idempotent
    expect(await count(b, acct)).toBe("1");
    await b.close();
    await expect(b.client.query({ query: "SELECT 1" })).rejects.toThrow(/closed/);
  });

  it("refuses a second directory while one is open, naming both; accepts it once all are closed", async () => {
    const err = await openClickHouse({ dataDir: otherDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChdbEngineInUseError);
    const e = err as ChdbEngineInUseError;
    expect(e.code).toBe("CHDB_ENGINE_IN_USE");
    expect(e.openPath).toBe(resolve(dataDir, "clickhouse"));
    expect(e.requestedPath).toBe(resolve(otherDir, "clickhouse"));
    expect(e.message).toContain("one engine per process");

    for (const h of open.splice(0)) await h.close();
    const other = await openClickHouse({ dataDir: otherDir });
    const rs = await other.client.query({
      query: "SELECT count() AS n FROM system.tables WHERE database = currentDatabase()",
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ n: "0" }]);
    await other.close();
  });

  it("keeps the data across processes: a child process reads it and adds to it", async () => {
    const h = await openClickHouse({ dataDir });
    await migrate(h.client);
    const acct = `cross-process-${Date.now()}`;
    await h.client.insert({
      table: "events",
      values: [eventRow({ account_id: acct, ts: new Date() })],
      format: "JSONEachRow",
    });
    await h.close(); // the child needs the directory for itself

    const client = resolve(import.meta.dirname, "../../shared/clickhouse/client.ts");
    const script = `
      const { openClickHouse } = await import(${JSON.stringify(client)});
      const [dataDir, acct] = process.argv.slice(1);
      const h = await openClickHouse({ dataDir });
      const q = () => h.client.query({ query: "SELECT count() AS n FROM events WHERE account_id = {a:String}", query_params: { a: acct }, format: "JSONEachRow" }).then((r) => r.json());
      const before = (await q())[0].n;
      await h.client.insert({ table: "events", format: "JSONEachRow", values: [{ event_id: "child-" + acct, account_id: acct, ts: new Date().toISOString() }] });
      const after = (await q())[0].n;
      await h.close();
      console.log(JSON.stringify({ before, after }));`;
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "--eval", script, dataDir, acct],
      { cwd: resolve(import.meta.dirname, "../.."), timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({ before: "1", after: "2" });

    const again = await openClickHouse({ dataDir });
    expect(await count(again, acct)).toBe("2");
    await again.close();
  });
});
