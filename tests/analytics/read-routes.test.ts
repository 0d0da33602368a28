/**
 * The read routes (A3, A4, A7) on the real API stack: "today" comes from the deps' clock (pinned here
 * to the fixture's NOW, not the machine's time); recipient and sender search in any case, still
 * account-scoped; the query parameters in the OpenAPI document with descriptions.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presetPeriod } from "../../shared/analytics/period.ts";
import { createAnalytics } from "../../shared/analytics/service.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { StatusEvent } from "../../shared/model/event.ts";
import { type ApiStack, bearer, call, startApiStack } from "../api/harness.ts";
import { ACME, ACME_TZ, EVENTS, GLOBEX, insertEvents, liftTtl, NOW } from "./fixture.ts";

const dataDir = mkdtempSync(join(tmpdir(), "petrel-analytics-routes-"));
let h: ClickHouseHandle;
let stack: ApiStack;
let key: Record<string, string>;

/** Stored as submitted, in mixed case, for acme and for globex (same address). */
const mixed = (accountId: string, rid: string) =>
  StatusEvent.parse({
    eventId: `${rid}:Accepted:0`,
    accountId,
    messageId: `<${rid}@x>`,
    recipientId: rid,
    recipient: "Zoe.Quinn@Example.ORG",
    recipientDomain: "example.org",
    sender: "Alerts@Acme.COM",
    sendingDomain: "acme.com",
    smtpUser: "u",
    subject: "Mixed case",
    status: "Accepted",
    reason: "none",
    remoteReply: "",
    mxHost: "",
    isTest: false,
    ts: Date.parse("2026-11-02T12:00:00Z"),
  });

beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "routes" });
  await migrate(h.client);
  await liftTtl(h.client);
  await insertEvents(h.client, [...EVENTS, mixed(ACME, "z1.0"), mixed(GLOBEX, "z2.0")]);
  stack = await startApiStack();
  stack.control.analytics = createAnalytics(h.client);
  stack.control.now = () => NOW; // 2026-11-03T15:00Z, 10:00 in New York
  await stack.service.createAccount({ accountId: ACME, name: "Acme", plan: "starter", timezone: ACME_TZ });
  const k = await stack.service.createApiKey(ACME, { scopes: ["activity:read", "stats:read"] });
  key = bearer(k.key);
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the deps' clock is 'now' of the read routes", () => {
  it("stats without a period: the last 7 days ending with the clock's today; last 10 up to the clock", async () => {
    const r = await call(stack.app, "get", "/v1/stats?period=today", { headers: key });
    expect(r.status).toBe(200);
    const today = presetPeriod("today", NOW, ACME_TZ);
    expect(r.body.period.from).toBe(new Date(today.from).toISOString());
    expect(r.body.kpis.totalRecipients).toEqual({ value: 1, previous: 5, change: -80 });
    // The later bounce (16:00Z) is after the clock's now: not among the last activities.
    expect(r.body.recent[0].eventId).toBe("m9.0:Delivered:0");
    const d = await call(stack.app, "get", "/v1/stats", { headers: key });
    expect(d.body.period.from).toBe(new Date(presetPeriod("7d", NOW, ACME_TZ).from).toISOString());
  });

  it("activity without from/to: the 30 days before the clock's now", async () => {
    const r = await call(stack.app, "get", "/v1/activity?limit=1", { headers: key });
    expect(r.body.rows[0].eventId).toBe("m9.0:Delivered:0");
    stack.control.now = () => Date.parse("2026-11-03T16:30:00Z");
    try {
      const later = await call(stack.app, "get", "/v1/activity?limit=1", { headers: key });
      expect(later.body.rows[0].eventId).toBe("m3.0:HardBounce:0");
    } finally {
      stack.control.now = () => NOW;
    }
  });
});

describe("search in any case, within the account", () => {
  it("finds a recipient stored in mixed case by any spelling, and only the caller's row", async () => {
    for (const q of ["zoe.quinn@example.org", "ZOE.QUINN@EXAMPLE.ORG", "Zoe.Quinn@Example.ORG"]) {
      const r = await call(stack.app, "get", `/v1/activity?recipient=${encodeURIComponent(q)}`, {
        headers: key,
      });
      expect(r.body.rows.map((x: { eventId: string }) => x.eventId)).toEqual(["z1.0:Accepted:0"]);
    }
  });

  it("sender too", async () => {
    const r = await call(stack.app, "get", "/v1/activity?sender=alerts@acme.com", { headers: key });
    expect(r.body.rows.map((x: { eventId: string }) => x.eventId)).toEqual(["z1.0:Accepted:0"]);
    const b = await call(stack.app, "get", "/v1/activity?view=events&sender=BILLING@NEWS.ACME.COM", {
      headers: key,
    });
    expect(b.body.rows.map((x: { eventId: string }) => x.eventId)).toEqual([
      "m7.0:SoftBounce:0",
      "m7.0:Accepted:0",
    ]);
  });
});

describe("OpenAPI document", () => {
  it("lists the read routes' query parameters with descriptions", async () => {
    const r = await call(stack.app, "get", "/openapi.json");
    expect(r.status).toBe(200);
    const params = (path: string) =>
      Object.fromEntries(
        (r.body.paths[path].get.parameters as { name: string; in: string; description: string }[])
          .filter((p) => p.in === "query")
          .map((p) => [p.name, p.description]),
      );
    const activity = params("/v1/activity");
    expect(Object.keys(activity).sort()).toEqual(
      [
        "cursor",
        "from",
        "limit",
        "messageId",
        "recipient",
        "sender",
        "status",
        "subject",
        "to",
        "view",
      ].sort(),
    );
    expect(Object.keys(params("/v1/activity/export")).sort()).toEqual(
      ["from", "messageId", "recipient", "sender", "status", "subject", "to", "view"].sort(),
    );
    expect(Object.keys(params("/v1/stats")).sort()).toEqual(["from", "period", "tests", "to", "view"]);
    expect(Object.keys(params("/v1/stats/domains/{domain}")).sort()).toEqual(["from", "period", "to"]);
    expect(Object.keys(params("/v1/admin/accounts/{accountId}/stats")).sort()).toEqual([
      "from",
      "period",
      "tests",
      "to",
      "view",
    ]);
    for (const d of [...Object.values(activity), ...Object.values(params("/v1/stats"))])
      expect(d.length).toBeGreaterThan(10);
    expect(r.body.paths["/v1/quota"].get.parameters ?? []).toEqual([]);
  });
});
