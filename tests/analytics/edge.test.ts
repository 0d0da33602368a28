/**
 * The edge entry (edge-api/edge.ts, X3): its import graph holds no Node-only module, and under Deno it
 * serves requests through its Workers-shaped `fetch`. ClickHouse is a STUB HTTP server in the probe
 * (tests/analytics/edge-probe.deno.ts): this proves the runtime path and the account scoping of the
 * SQL sent, not the figures (proven on chDB through the same query code in figures.test.ts).
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const deno = (args: string[]) =>
  run("npx", ["deno", ...args], { cwd: ROOT, timeout: 120_000, maxBuffer: 1 << 24 });

/** Packages allowed on the edge path: Web-standard ones. */
const WEB_PACKAGES = new Set([
  "@clickhouse/client-web",
  "hono",
  "luxon",
  "zod",
  "@types/luxon",
  "@types/node",
]);

describe("edge entry", () => {
  it("imports no node: module, no chDB and no Node ClickHouse client", async () => {
    const { stdout } = await deno(["info", "--json", "edge-api/edge.ts"]);
    const info = JSON.parse(stdout) as {
      modules: { specifier: string; dependencies?: { specifier: string }[] }[];
    };
    const specifiers = info.modules.flatMap((m) => [
      m.specifier,
      ...(m.dependencies ?? []).map((d) => d.specifier),
    ]);
    expect(specifiers.filter((s) => s.startsWith("node:"))).toEqual([]);
    const packages = new Set(
      info.modules
        .map((m) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m.specifier)?.[1])
        .filter((p): p is string => p !== undefined),
    );
    expect([...packages].filter((p) => !WEB_PACKAGES.has(p))).toEqual([]);
    expect(packages.has("@clickhouse/client-web")).toBe(true);
    // The Node-only parts of the analytics folder stay off the path.
    expect(specifiers.some((s) => /shared\/(analytics\/sink|clickhouse\/client)\.ts$/.test(s))).toBe(false);
  }, 120_000);

  it("serves requests under Deno: 401 without a key, 200 scoped by account, 403/400 mapped, quota, 401 once revoked, 503 when the store is down", async () => {
    const { stdout } = await deno([
      "run",
      "--allow-net=127.0.0.1,edge",
      "--allow-env",
      "--allow-read",
      "tests/analytics/edge-probe.deno.ts",
    ]);
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(out.noKey).toMatchObject({ status: 401, body: { code: "unauthenticated" } });
    expect(out.search).toEqual({ status: 200, body: { rows: [] } });
    expect(out.stubQueries).toHaveLength(1);
    expect(out.stubQueries[0].sql).toContain("WHERE account_id = {account:String}");
    expect(out.stubQueries[0].url).toContain("param_account=acme");
    expect(out.noScope).toMatchObject({ status: 403, body: { code: "forbidden" } });
    expect(out.badInput).toMatchObject({ status: 400, body: { code: "invalid_request", field: "status.0" } });
    // The directory read through ClickHouse (0004_edge_directory), the quota gauge (A7), revocation.
    expect(out.directoryQueries.some((q: string) => q.includes("FROM edge_api_keys FINAL"))).toBe(true);
    expect(out.quota).toEqual({
      status: 200,
      body: {
        used: 81,
        limit: 100,
        percent: 81,
        band: "orange",
        periodStart: Date.parse("2026-11-01T04:00:00Z"),
        periodEnd: Date.parse("2026-12-01T05:00:00Z"),
      },
    });
    expect(out.quotaRolled.body).toMatchObject({
      periodStart: Date.parse("2026-12-01T05:00:00Z"),
      periodEnd: Date.parse("2027-01-01T05:00:00Z"),
    });
    expect(out.revoked).toMatchObject({ status: 401, body: { code: "unauthenticated" } });
    expect(out.storeDown).toMatchObject({ status: 503, body: { code: "unavailable" } });
  }, 120_000);
});
