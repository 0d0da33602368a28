/**
 * The /v1 read routes on the real API stack (tests/api/harness.ts) over chDB with the fixture events:
 * activity search with filters and cursor, the streamed CSV export, statistics for a custom range,
 * domain detail, the quota gauge, and 400s naming the field. The route × caller matrix is in
 * tests/api/permissions.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAnalytics } from "../../shared/analytics/service.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { type ApiStack, bearer, call, OPERATOR, startApiStack } from "../api/harness.ts";
import { ACME, ACME_TZ, EVENTS, insertEvents, liftTtl } from "./fixture.ts";

const dataDir = mkdtempSync(join(tmpdir(), "petrel-analytics-api-"));
let h: ClickHouseHandle;
let stack: ApiStack;
let key: Record<string, string>;
const FROM = "2026-10-01T00:00:00Z";
const TO = "2026-11-10T00:00:00Z";

beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "api" });
  await migrate(h.client);
  await liftTtl(h.client);
  await insertEvents(h.client, EVENTS);
  stack = await startApiStack();
  // "Today" of the read routes is the control plane's clock: pin it just after the fixture's events.
  stack.clock.advance(Date.parse(TO) - stack.clock.now());
  stack.control.analytics = createAnalytics(h.client);
  await stack.service.createAccount({ accountId: ACME, name: "Acme", plan: "starter", timezone: ACME_TZ });
  await stack.service.createAccount({ accountId: "globex", name: "Globex", plan: "starter" });
  const k = await stack.service.createApiKey(ACME, { scopes: ["activity:read", "stats:read"] });
  key = bearer(k.key);
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("GET /v1/activity", () => {
  it("searches the caller's account, newest first, times in its zone, paged by cursor", async () => {
    const r = await call(
      stack.app,
      "get",
      `/v1/activity?view=events&recipient=dan@example.net&from=${FROM}&to=${TO}&limit=3`,
      {
        headers: key,
      },
    );
    expect(r.status).toBe(200);
    expect(r.body.rows.map((x: { eventId: string }) => x.eventId)).toEqual([
      "m4.0:Delivered:2",
      "m4.0:Deferred:1",
      "m4.0:Deferred:0",
    ]);
    expect(r.body.rows[1]).toMatchObject({
      time: "2026-11-02T11:00:00.000-05:00",
      reason: "remote_temporary",
    });
    const next = await call(
      stack.app,
      "get",
      `/v1/activity?view=events&recipient=dan@example.net&from=${FROM}&to=${TO}&limit=3&cursor=${r.body.nextCursor}`,
      {
        headers: key,
      },
    );
    expect(next.body.rows.map((x: { eventId: string }) => x.eventId)).toEqual(["m4.0:Accepted:0"]);
    expect(next.body.nextCursor).toBeUndefined();
  });

  it("filters by status (comma list) and never shows another account's rows", async () => {
    const r = await call(
      stack.app,
      "get",
      `/v1/activity?view=events&status=Deferred,Rejected&from=${FROM}&to=${TO}`,
      {
        headers: key,
      },
    );
    expect(r.body.rows.map((x: { eventId: string }) => x.eventId)).toEqual([
      "m4.0:Deferred:1",
      "m5.0:Rejected:0",
      "m4.0:Deferred:0",
      "m2.0:Deferred:0",
    ]);
    const g = await call(
      stack.app,
      "get",
      `/v1/admin/accounts/globex/activity?view=events&from=${FROM}&to=${TO}`,
      {
        headers: OPERATOR,
      },
    );
    expect(g.status).toBe(200);
    expect(g.body.rows.map((x: { eventId: string }) => x.eventId)).toEqual([
      "g1.0:Delivered:0",
      "g1.0:Accepted:0",
    ]);
  });

  it("answers 400 naming the field for a bad status, time or cursor", async () => {
    for (const [q, field] of [
      ["status=Lost", "status.0"],
      ["from=yesterday", "from"],
      ["cursor=%%%", "cursor"],
      ["limit=0", "limit"],
    ] as const) {
      const r = await call(stack.app, "get", `/v1/activity?${q}`, { headers: key });
      expect({ q, status: r.status, code: r.body.code, field: r.body.field }).toEqual({
        q,
        status: 400,
        code: "invalid_request",
        field,
      });
    }
  });

  it("exports CSV as a stream", async () => {
    const res = await stack.app.request(
      `http://127.0.0.1/v1/activity/export?view=events&from=${FROM}&to=${TO}`,
      {
        headers: key,
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    expect(res.body).toBeInstanceOf(ReadableStream);
    const lines = (await res.text()).split("\r\n").filter(Boolean);
    expect(lines).toHaveLength(22);
    expect(lines[1]).toMatch(/^2026-11-03T11:00:00\.000-05:00,HardBounce,cat@example\.net,Welcome,/);
  });
});

describe("GET /v1/stats, /v1/stats/domains/{domain}, /v1/quota", () => {
  it("gives the KPIs with their change, the series and the domains for a custom range (Nov 2 local)", async () => {
    const r = await call(
      stack.app,
      "get",
      "/v1/stats?from=2026-11-02T00:00:00-05:00&to=2026-11-03T00:00:00-05:00&view=cumulative",
      { headers: key },
    );
    expect(r.status).toBe(200);
    expect(r.body.period).toEqual({
      from: "2026-11-02T05:00:00.000Z",
      to: "2026-11-03T05:00:00.000Z",
      timezone: ACME_TZ,
    });
    expect(r.body.previous).toEqual({ from: "2026-11-01T04:00:00.000Z", to: "2026-11-02T05:00:00.000Z" });
    expect(r.body.kpis).toEqual({
      totalRecipients: { value: 4, previous: 2, change: 100 },
      deliveryRate: { value: 33.33, previous: 100, change: -66.67 },
      softBounceRate: { value: 33.33, previous: 0, change: null },
      hardBounceRate: { value: 33.33, previous: 0, change: null },
    });
    expect(r.body.series.bucket).toBe("hour");
    expect(r.body.series.points).toHaveLength(24);
    expect(r.body.series.points.at(-1)).toMatchObject({ recipients: 4, delivered: 1 });
    expect(r.body.domains.map((d: { domain: string }) => d.domain)).toEqual(["acme.com", "news.acme.com"]);
    expect(r.body.recent).toHaveLength(10);
  });

  it("domain detail keeps soft and hard apart", async () => {
    const r = await call(
      stack.app,
      "get",
      "/v1/stats/domains/acme.com?from=2026-11-02T00:00:00-05:00&to=2026-11-03T00:00:00-05:00",
      { headers: key },
    );
    expect(r.body).toEqual({
      domain: "acme.com",
      recipients: 3,
      delivered: 1,
      bounces: 1,
      softBounces: 0,
      hardBounces: 1,
    });
  });

  it("rejects half a custom range and an unknown preset", async () => {
    const a = await call(stack.app, "get", "/v1/stats?from=2026-11-02T00:00:00Z", { headers: key });
    expect([a.status, a.body.field]).toEqual([400, "to"]);
    const b = await call(stack.app, "get", "/v1/stats?period=90d", { headers: key });
    expect([b.status, b.body.field]).toEqual([400, "period"]);
  });

  it("the quota gauge: used, limit, percent, band", async () => {
    const r = await call(stack.app, "get", "/v1/quota", { headers: key });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ used: 0, percent: 0, band: "blue" });
    expect(r.body.limit).toBeGreaterThan(0);
  });
});
