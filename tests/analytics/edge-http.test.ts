/**
 * The edge's default entry (`edgeFromEnv`, edge-api/edge.ts: `@clickhouse/client-web` over HTTP) with
 * real figures: against a ClickHouse server when PETREL_TEST_CLICKHOUSE_URL is set, otherwise the test
 * stand-in that serves ClickHouse's HTTP interface over chDB (tests/clickhouse/standin.ts). The
 * fixture's events (tests/analytics/fixture.ts) and one directory key and account, as the relay writes
 * them (0004_edge_directory). Complements edge.test.ts, which proves the Deno runtime path against a
 * stub; run here in Node, since client-web needs only `fetch`.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeFromEnv } from "../../edge-api/edge.ts";
import { edgeApiKeyId, hmacHex } from "../../shared/analytics/edge-reads.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { type ClickHouseEndpoint, startClickHouseEndpoint } from "../clickhouse/standin.ts";
import { ACME, ACME_TZ, EVENTS, GLOBEX, insertEvents, liftTtl, NOW } from "./fixture.ts";

const HMAC = new Uint8Array(32).fill(5);
const KEY = "pk_abcdefghijkl_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const database = `petrel_edge_${randomUUID().replaceAll("-", "").slice(0, 10)}`;
let ep: ClickHouseEndpoint;
let h: ClickHouseHandle;
let edge: ReturnType<typeof edgeFromEnv>;

const get = async (path: string, key = KEY) => {
  const res = await edge.fetch(
    new Request(`http://edge${path}`, { headers: { authorization: `Bearer ${key}` } }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  ep = await startClickHouseEndpoint();
  h = await openClickHouse({
    url: ep.url,
    username: ep.username,
    password: ep.password,
    database,
    dataDir: "unused-over-http",
  });
  await migrate(h.client);
  await liftTtl(h.client);
  await insertEvents(h.client, EVENTS);
  await h.client.insert({
    table: "edge_api_keys",
    format: "JSONEachRow",
    values: [
      {
        key_id: edgeApiKeyId(KEY),
        key_hash: await hmacHex(HMAC, KEY),
        account_id: ACME,
        scopes: ["activity:read", "stats:read"],
        revoked: 0,
        revoked_at: null,
        version: 1,
      },
    ],
  });
  await h.client.insert({
    table: "edge_accounts",
    format: "JSONEachRow",
    values: [
      {
        account_id: ACME,
        status: "active",
        timezone: ACME_TZ,
        plan: "free",
        quota_limit: 100,
        anchor_day: 1,
        period_start: "2026-11-01 04:00:00.000",
        period_end: "2026-12-01 05:00:00.000",
        cancel_at: null,
        version: 1,
      },
    ],
  });
  edge = edgeFromEnv(
    {
      PETREL_CLICKHOUSE_URL: ep.url,
      PETREL_CLICKHOUSE_USER: ep.username,
      PETREL_CLICKHOUSE_PASSWORD: ep.password,
      PETREL_CLICKHOUSE_DATABASE: database,
      PETREL_EDGE_HMAC_KEY: Buffer.from(HMAC).toString("base64url"),
      PETREL_EDGE_CACHE_MS: "0",
    },
    { now: () => NOW },
  );
});
afterAll(async () => {
  if (ep?.kind === "server") await h?.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await h?.close();
  await ep?.stop();
});

describe("edge entry over ClickHouse's HTTP interface", () => {
  it("lists the account's activity, newest first, and nothing of another account", async () => {
    const from = encodeURIComponent("2026-10-01T00:00:00Z");
    const to = encodeURIComponent("2026-11-10T00:00:00Z");
    const { status, body } = await get(`/v1/activity?view=events&from=${from}&to=${to}&limit=100`);
    expect(status).toBe(200);
    const rows = body.rows as { eventId: string; time: string }[];
    expect(rows).toHaveLength(21);
    expect(rows[0]).toMatchObject({ eventId: "m3.0:HardBounce:0", time: "2026-11-03T11:00:00.000-05:00" });
    expect(rows.at(-1)).toMatchObject({ eventId: "m1.0:Accepted:0", time: "2026-11-01T00:30:00.000-04:00" });
    const globex = new Set(EVENTS.filter((e) => e.accountId === GLOBEX).map((e) => e.eventId));
    expect(rows.filter((r) => globex.has(r.eventId))).toEqual([]);
  });

  it("lists one row per recipient by default (A1), and a recipient's timeline, account-scoped", async () => {
    const from = encodeURIComponent("2026-10-01T00:00:00Z");
    const to = encodeURIComponent("2026-11-10T00:00:00Z");
    const { status, body } = await get(`/v1/activity?from=${from}&to=${to}&limit=100`);
    expect(status).toBe(200);
    const rows = body.rows as { recipientId: string; status: string }[];
    // 9 acme recipients, plus m3.0's Delivered row (a hard bounce followed it).
    expect(rows.map((r) => `${r.recipientId} ${r.status}`).slice(0, 2)).toEqual([
      "m3.0 HardBounce",
      "m9.0 Delivered",
    ]);
    expect(rows).toHaveLength(10);
    expect(rows.filter((r) => r.recipientId === "m3.0").map((r) => r.status)).toEqual([
      "HardBounce",
      "Delivered",
    ]);
    const t = await get("/v1/activity/m3.0");
    expect(t.status).toBe(200);
    expect((t.body.rows as { status: string }[]).map((r) => r.status)).toEqual([
      "Accepted",
      "Delivered",
      "HardBounce",
    ]);
    expect((await get("/v1/activity/g1.0")).status).toBe(404);
  });

  it("gives yesterday's KPIs (A4–A6) as the figures suite does on chDB", async () => {
    const { status, body } = await get("/v1/stats?period=yesterday");
    expect(status).toBe(200);
    expect(body.kpis).toEqual({
      totalRecipients: { value: 4, previous: 2, change: 100 },
      deliveryRate: { value: 33.33, previous: 100, change: -66.67 },
      softBounceRate: { value: 33.33, previous: 0, change: null },
      hardBounceRate: { value: 33.33, previous: 0, change: null },
    });
  });

  it("counts the quota from events (A7): accepted, non-sandbox recipients of the period", async () => {
    const { status, body } = await get("/v1/quota");
    expect(status).toBe(200);
    // r1–r4, r7–r9 accepted since Nov 1 04:00Z; r5 was rejected, r6 is a sandbox recipient.
    expect(body).toMatchObject({ used: 7, limit: 100, percent: 7, band: "blue" });
  });

  it("refuses a key that is not in the directory", async () => {
    const other = "pk_zzzzzzzzzzzz_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    expect((await get("/v1/activity", other)).status).toBe(401);
  });
});
