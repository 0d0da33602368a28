/**
 * A5 and S14 through GET /v1/stats on the real API stack (tests/api/harness.ts) over chDB, one
 * definition per test (docs/statistics.md):
 * - rates are over the recipients with a final status; the ones in flight are counted apart;
 * - a period without a final status has no rate (null, "—" on the Dashboard), never 0 %;
 * - test (sandbox) recipients are left out and counted in `testRecipients` unless `tests=include`;
 * - the switch is a closed set: anything else is a 400 naming `tests`.
 * Days (UTC account): D1 = 2026-11-02 holds everything; D2 = 2026-11-03 only test recipients;
 * D3 = 2026-11-04 only recipients in flight; D4 = 2026-11-05 nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAnalytics } from "../../shared/analytics/service.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { StatusEvent, statusEventId } from "../../shared/model/event.ts";
import type { RecipientStatus } from "../../shared/model/status.ts";
import { type ApiStack, bearer, call, startApiStack } from "../api/harness.ts";
import { insertEvents, liftTtl } from "./fixture.ts";

const ACCOUNT = "truth";
const dataDir = mkdtempSync(join(tmpdir(), "petrel-stats-truth-"));
let h: ClickHouseHandle;
let stack: ApiStack;
let key: Record<string, string>;

/** One recipient's events: Accepted at `at`, then each later status a minute apart. */
function recipient(rid: string, to: string, at: string, statuses: RecipientStatus[], isTest = false) {
  const t0 = Date.parse(at);
  return statuses.map((status, i) =>
    StatusEvent.parse({
      eventId: statusEventId(rid, status, 0),
      accountId: ACCOUNT,
      messageId: `<${rid}@mail.truth.test>`,
      recipientId: rid,
      recipient: to,
      recipientDomain: to.split("@")[1],
      sender: "app@truth.test",
      sendingDomain: "truth.test",
      smtpUser: "smtp-truth",
      subject: "Truth",
      status,
      reason:
        status === "HardBounce"
          ? "unknown_user"
          : status === "Deferred"
            ? "remote_temporary"
            : status === "Rejected"
              ? "quota_reached"
              : "none",
      remoteReply: "",
      mxHost: "",
      isTest,
      ts: t0 + i * 60_000,
    }),
  );
}

const SANDBOX = "sandbox.petrel.test";
const EVENTS = [
  // D1: r1 delivered, r2 deferred and r3 accepted (in flight), r4 hard bounce, r5 refused;
  // t1 delivered, t2 hard bounce, t3 deferred (tests).
  ...recipient("r1.0", "a@x.test", "2026-11-02T10:00:00Z", ["Accepted", "Pending", "Delivered"]),
  ...recipient("r2.0", "b@x.test", "2026-11-02T10:00:00Z", ["Accepted", "Pending", "Deferred"]),
  ...recipient("r3.0", "c@x.test", "2026-11-02T10:00:00Z", ["Accepted"]),
  ...recipient("r4.0", "d@x.test", "2026-11-02T10:00:00Z", ["Accepted", "Pending", "HardBounce"]),
  ...recipient("r5.0", "e@x.test", "2026-11-02T10:00:00Z", ["Rejected"]),
  ...recipient("t1.0", `delivered@${SANDBOX}`, "2026-11-02T11:00:00Z", ["Accepted", "Delivered"], true),
  ...recipient("t2.0", `hardbounce@${SANDBOX}`, "2026-11-02T11:00:00Z", ["Accepted", "HardBounce"], true),
  ...recipient("t3.0", `deferred@${SANDBOX}`, "2026-11-02T11:00:00Z", ["Accepted", "Deferred"], true),
  // D2: a sandbox-only session.
  ...recipient("t4.0", `delivered@${SANDBOX}`, "2026-11-03T09:00:00Z", ["Accepted", "Delivered"], true),
  ...recipient("t5.0", `softbounce@${SANDBOX}`, "2026-11-03T09:00:00Z", ["Accepted", "SoftBounce"], true),
  // D3: only recipients in flight.
  ...recipient("r6.0", "f@x.test", "2026-11-04T09:00:00Z", ["Accepted", "Deferred"]),
];

/** The whole UTC day `d` (the previous period is the day before). */
const day = (d: string) => {
  const from = Date.parse(`${d}T00:00:00Z`);
  return `from=${from}&to=${from + 86_400_000}`;
};

beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "truth" });
  await migrate(h.client);
  await liftTtl(h.client);
  await insertEvents(h.client, EVENTS);
  stack = await startApiStack();
  stack.clock.advance(Date.parse("2026-11-06T00:00:00Z") - stack.clock.now());
  stack.control.analytics = createAnalytics(h.client);
  await stack.service.createAccount({ accountId: ACCOUNT, name: "Truth", plan: "starter", timezone: "UTC" });
  key = bearer((await stack.service.createApiKey(ACCOUNT, { scopes: ["stats:read"] })).key);
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field
const stats = async (query: string): Promise<{ status: number; body: any }> =>
  call(stack.app, "get", `/v1/stats?${query}`, { headers: key });

describe("GET /v1/stats: statistics that tell the truth (A5, S14)", () => {
  it("rates are over recipients with a final status; recipients in flight are counted apart", async () => {
    const r = await stats(day("2026-11-02"));
    expect(r.status).toBe(200);
    // r1–r4 accepted; r2, r3 in flight; r1 delivered, r4 bounced: 1 of 2 final, not 1 of 4.
    expect(r.body.kpis.totalRecipients.value).toBe(4);
    expect(r.body.inFlight).toBe(2);
    expect(r.body.kpis.deliveryRate.value).toBe(50);
    expect(r.body.kpis.hardBounceRate.value).toBe(50);
    expect(r.body.kpis.softBounceRate.value).toBe(0);
  });

  it("test recipients are left out by default and counted apart; tests=include counts them", async () => {
    const out = await stats(day("2026-11-02"));
    expect(out.body.testRecipients).toEqual({ count: 3, included: false });
    const all = await stats(`${day("2026-11-02")}&tests=include`);
    expect(all.status).toBe(200);
    expect(all.body.testRecipients).toEqual({ count: 3, included: true });
    // + t1 (delivered), t2 (hard), t3 (in flight): 7 recipients, 3 in flight, 2 of 4 final delivered.
    expect(all.body.kpis.totalRecipients.value).toBe(7);
    expect(all.body.inFlight).toBe(3);
    expect(all.body.kpis.deliveryRate.value).toBe(50);
    expect(all.body.kpis.hardBounceRate.value).toBe(50);
    const total = (b: { series: { points: { recipients: number }[] } }) =>
      b.series.points.reduce((n, p) => n + p.recipients, 0);
    expect([total(out.body), total(all.body)]).toEqual([4, 7]);
    expect(all.body.domains).toEqual([expect.objectContaining({ domain: "truth.test", recipients: 7 })]);
  });

  it("a sandbox-only period: nothing counted, no rate, the test recipients said", async () => {
    const r = await stats(day("2026-11-03"));
    expect(r.body.testRecipients).toEqual({ count: 2, included: false });
    expect(r.body.kpis.totalRecipients).toMatchObject({ value: 0 });
    expect(r.body.kpis.deliveryRate).toEqual({ value: null, previous: 50, change: null });
    const all = await stats(`${day("2026-11-03")}&tests=include`);
    expect(all.body.kpis.deliveryRate.value).toBe(50);
    expect(all.body.kpis.softBounceRate.value).toBe(50);
  });

  it("no data is null (the Dashboard's “—”), not 0 %: a period of recipients in flight, an empty period", async () => {
    const inFlight = await stats(day("2026-11-04"));
    expect(inFlight.body.inFlight).toBe(1);
    expect(inFlight.body.kpis.totalRecipients.value).toBe(1);
    for (const k of ["deliveryRate", "softBounceRate", "hardBounceRate"])
      expect(inFlight.body.kpis[k].value).toBeNull();
    const empty = await stats(day("2026-11-05"));
    expect(empty.body.kpis).toEqual({
      totalRecipients: { value: 0, previous: 1, change: -100 },
      deliveryRate: { value: null, previous: null, change: null },
      softBounceRate: { value: null, previous: null, change: null },
      hardBounceRate: { value: null, previous: null, change: null },
    });
    expect(empty.body.inFlight).toBe(0);
  });

  it("the switch takes exclude or include only: anything else is a 400 naming `tests`", async () => {
    const r = await stats(`${day("2026-11-02")}&tests=yes`);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: "invalid_request", field: "tests" });
    expect((await stats(`${day("2026-11-02")}&tests=exclude`)).body.testRecipients.included).toBe(false);
  });
});
