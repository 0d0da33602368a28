/**
 * A1–A6 on a fixture with known events (tests/analytics/fixture.ts): exact activity rows, KPIs and
 * their changes, New/Cumulative series, domain figures; a DST day and non-UTC midnights.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvLine } from "../../shared/analytics/activity.ts";
import { bucketStarts, customPeriod, presetPeriod } from "../../shared/analytics/period.ts";
import { change, domainFigures, kpis, periodFigures, series } from "../../shared/analytics/queries.ts";
import { type Analytics, createAnalytics } from "../../shared/analytics/service.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { ACME, ACME_TZ, EVENTS, GLOBEX, insertEvents, KOLKATA, liftTtl, NOW } from "./fixture.ts";

const dataDir = mkdtempSync(join(tmpdir(), "petrel-analytics-"));
let h: ClickHouseHandle;
let a: Analytics;

beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "figures" });
  await migrate(h.client);
  await liftTtl(h.client);
  // In two inserts, plus a replayed copy of the second: the figures must not move (A6 + dedup).
  await insertEvents(h.client, EVENTS.slice(0, 10));
  await insertEvents(h.client, EVENTS.slice(10));
  await insertEvents(h.client, EVENTS.slice(5, 12));
  a = createAnalytics(h.client);
});
afterAll(async () => {
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const ACME_EVENTS = EVENTS.filter((e) => e.accountId === ACME);
const WIDE = { from: Date.parse("2026-10-01T00:00:00Z"), to: Date.parse("2026-11-10T00:00:00Z") };
/** These tests read the events view (one row per status event); the default recipient view is in activity-recipients.test.ts. */
const EVENTS_VIEW = { ...WIDE, view: "events" as const };

describe("activity (A1, A3)", () => {
  it("lists every event of the account once, newest first, times in the account zone, reasons included", async () => {
    const page = await a.activity(ACME, { ...EVENTS_VIEW, limit: 100 }, ACME_TZ);
    const want = [...ACME_EVENTS].sort((x, y) => y.ts - x.ts || (y.eventId < x.eventId ? -1 : 1));
    expect(page.rows.map((r) => r.eventId)).toEqual(want.map((e) => e.eventId));
    expect(page.rows).toHaveLength(21);
    expect(page.nextCursor).toBeUndefined();
    expect(page.rows[0]).toMatchObject({
      eventId: "m3.0:HardBounce:0",
      time: "2026-11-03T11:00:00.000-05:00",
      status: "HardBounce",
      reason: "delayed_bounce",
      recipient: "cat@example.net",
      sender: "billing@acme.com",
      subject: "Welcome",
      messageId: "<m3@mail.acme.com>",
      smtpUser: "smtp-acme-1",
      sendingDomain: "acme.com",
      remoteReply: "reply for delayed_bounce",
      mxHost: "mx.example.net",
      isTest: false,
    });
    // Before the DST change the offset is -04:00.
    expect(page.rows.at(-1)).toMatchObject({
      eventId: "m1.0:Accepted:0",
      time: "2026-11-01T00:30:00.000-04:00",
    });
  });

  it("pages with a cursor and loses or repeats nothing", async () => {
    const all = await a.activity(ACME, { ...EVENTS_VIEW, limit: 100 }, ACME_TZ);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const p = await a.activity(ACME, { ...EVENTS_VIEW, limit: 4, ...(cursor ? { cursor } : {}) }, ACME_TZ);
      seen.push(...p.rows.map((r) => r.eventId));
      cursor = p.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(all.rows.map((r) => r.eventId));
  });

  it("filters by recipient, sender, subject (contains, any case), status, message id and period", async () => {
    const ids = async (f: Record<string, unknown>) =>
      (await a.activity(ACME, { ...EVENTS_VIEW, limit: 100, ...f }, ACME_TZ)).rows.map((r) => r.eventId);
    expect(await ids({ recipient: "DAN@example.net" })).toEqual([
      "m4.0:Delivered:2",
      "m4.0:Deferred:1",
      "m4.0:Deferred:0",
      "m4.0:Accepted:0",
    ]);
    expect((await ids({ subject: "invoice" })).sort()).toEqual(
      ACME_EVENTS.filter((e) => /invoice/i.test(e.subject))
        .map((e) => e.eventId)
        .sort(),
    );
    expect(await ids({ status: ["Deferred"] })).toEqual([
      "m4.0:Deferred:1",
      "m4.0:Deferred:0",
      "m2.0:Deferred:0",
    ]);
    expect(await ids({ status: ["Rejected"] })).toEqual(["m5.0:Rejected:0"]);
    expect(await ids({ sender: "billing@news.acme.com" })).toEqual(["m7.0:SoftBounce:0", "m7.0:Accepted:0"]);
    expect(await ids({ messageId: "<m9@mail.acme.com>" })).toEqual(["m9.0:Delivered:0", "m9.0:Accepted:0"]);
    const nov3 = presetPeriod("today", NOW, ACME_TZ);
    expect(await ids({ from: nov3.from, to: nov3.to })).toEqual([
      "m3.0:HardBounce:0",
      "m9.0:Delivered:0",
      "m9.0:Accepted:0",
    ]);
  });

  it("streams a CSV export with every row, cells quoted and formulas defused", async () => {
    const body = await new Response(a.activityCsv(ACME, EVENTS_VIEW, ACME_TZ)).text();
    const lines = body.split("\r\n").filter(Boolean);
    expect(lines[0]).toBe(
      "time,status,recipient,subject,sender,reason,messageId,smtpUser,sendingDomain,remoteReply,mxHost",
    );
    expect(lines).toHaveLength(22);
    expect(body).toContain('"Invoice 2, late"');
    expect(body).toContain(",'=cmd,");
    const small = await a.activity(ACME, { ...EVENTS_VIEW, limit: 1 }, ACME_TZ);
    expect(lines[1]).toBe(csvLine(small.rows[0]!).trimEnd());
  });
});

describe("statistics (A4–A6)", () => {
  it("yesterday (Nov 2 local): a Delivered that later bounced counts as a hard bounce; rejected and sandbox apart", async () => {
    const y = presetPeriod("yesterday", NOW, ACME_TZ);
    expect(new Date(y.from).toISOString()).toBe("2026-11-02T05:00:00.000Z");
    // r8 is still Pending (in flight), r6 is a sandbox (test) recipient: counted apart.
    expect(await periodFigures(h.client, ACME, y)).toEqual({
      recipients: 4,
      delivered: 1,
      softBounces: 1,
      hardBounces: 1,
      rejected: 1,
      inFlight: 1,
      testRecipients: 1,
    });
    expect(await periodFigures(h.client, ACME, y, { includeTests: true })).toEqual({
      recipients: 5,
      delivered: 2,
      softBounces: 1,
      hardBounces: 1,
      rejected: 1,
      inFlight: 1,
      testRecipients: 1,
    });
    // The previous period is Nov 1, a 25-hour day: r1 and r2 (r2 is Nov 2 in UTC). Rates are over the
    // 3 recipients with a final status (r8 in flight left out).
    expect(await kpis(h.client, ACME, y)).toEqual({
      totalRecipients: { value: 4, previous: 2, change: 100 },
      deliveryRate: { value: 33.33, previous: 100, change: -66.67 },
      softBounceRate: { value: 33.33, previous: 0, change: null },
      hardBounceRate: { value: 33.33, previous: 0, change: null },
    });
  });

  it("today against yesterday", async () => {
    expect(await kpis(h.client, ACME, presetPeriod("today", NOW, ACME_TZ))).toEqual({
      totalRecipients: { value: 1, previous: 4, change: -75 },
      deliveryRate: { value: 100, previous: 33.33, change: 200.03 },
      softBounceRate: { value: 0, previous: 33.33, change: -100 },
      hardBounceRate: { value: 0, previous: 33.33, change: -100 },
    });
  });

  it("change: zero previous gives null, never Infinity or NaN", () => {
    expect(change(5, 0)).toBeNull();
    expect(change(0, 0)).toBeNull();
    expect(change(0, 4)).toBe(-100);
    expect(change(1, 3)).toBe(-66.67);
  });

  it("series, hourly for a day: New and Cumulative", async () => {
    const y = presetPeriod("yesterday", NOW, ACME_TZ);
    const n = await series(h.client, ACME, y, "new");
    expect(n.bucket).toBe("hour");
    expect(n.points).toHaveLength(24);
    const nonEmpty = n.points
      .filter((p) => p.recipients + p.rejected > 0)
      .map((p) => [p.time, p.recipients, p.delivered, p.softBounces, p.hardBounces, p.rejected]);
    expect(nonEmpty).toEqual([
      ["2026-11-02T09:00:00.000-05:00", 1, 0, 0, 1, 0],
      ["2026-11-02T10:00:00.000-05:00", 1, 1, 0, 0, 1],
      ["2026-11-02T13:00:00.000-05:00", 1, 0, 1, 0, 0],
      ["2026-11-02T23:00:00.000-05:00", 1, 0, 0, 0, 0],
    ]);
    const c = await series(h.client, ACME, y, "cumulative");
    expect(c.points.at(-1)).toMatchObject({
      recipients: 4,
      delivered: 1,
      softBounces: 1,
      hardBounces: 1,
      rejected: 1,
    });
    expect(c.points.find((p) => p.time === "2026-11-02T12:00:00.000-05:00")).toMatchObject({ recipients: 2 });
  });

  it("series on the DST day has 25 hourly buckets; r2 at 23:30 EST lands in the last", async () => {
    const nov1 = customPeriod(
      Date.parse("2026-11-01T04:00:00Z"),
      Date.parse("2026-11-02T05:00:00Z"),
      ACME_TZ,
    );
    expect(nov1.days).toBe(1);
    const s = await series(h.client, ACME, nov1, "new");
    expect(s.points).toHaveLength(25);
    expect(s.points[0]).toMatchObject({ time: "2026-11-01T00:00:00.000-04:00", recipients: 1, delivered: 1 });
    expect(s.points[1]!.time).toBe("2026-11-01T01:00:00.000-04:00");
    expect(s.points[2]!.time).toBe("2026-11-01T01:00:00.000-05:00");
    expect(s.points[24]).toMatchObject({
      time: "2026-11-01T23:00:00.000-05:00",
      recipients: 1,
      delivered: 1,
    });
  });

  it("series, daily for 7 days, local days", async () => {
    const p = presetPeriod("7d", NOW, ACME_TZ);
    const s = await series(h.client, ACME, p, "new");
    expect(s.bucket).toBe("day");
    expect(s.points.map((x) => [x.time.slice(0, 10), x.recipients])).toEqual([
      ["2026-10-28", 0],
      ["2026-10-29", 0],
      ["2026-10-30", 0],
      ["2026-10-31", 0],
      ["2026-11-01", 2],
      ["2026-11-02", 4],
      ["2026-11-03", 1],
    ]);
    const c = await series(h.client, ACME, p, "cumulative");
    expect(c.points.map((x) => x.recipients)).toEqual([0, 0, 0, 0, 2, 6, 7]);
    expect(bucketStarts(p, "day")).toHaveLength(7);
  });

  it("a +05:30 zone: 00:15 IST counts on its own local day", async () => {
    const today = presetPeriod("today", NOW, "Asia/Kolkata");
    expect(new Date(today.from).toISOString()).toBe("2026-11-02T18:30:00.000Z");
    expect((await periodFigures(h.client, KOLKATA, today)).recipients).toBe(1);
    expect(
      (await periodFigures(h.client, KOLKATA, presetPeriod("yesterday", NOW, "Asia/Kolkata"))).recipients,
    ).toBe(0);
  });

  it("domain list and domain detail: recipients, delivered, bounces; soft and hard apart", async () => {
    const y = presetPeriod("yesterday", NOW, ACME_TZ);
    const s = await a.stats(ACME, y, "new", NOW);
    expect(s.domains).toEqual([
      { domain: "acme.com", recipients: 3, delivered: 1, bounces: 1, softBounces: 0, hardBounces: 1 },
      { domain: "news.acme.com", recipients: 1, delivered: 0, bounces: 1, softBounces: 1, hardBounces: 0 },
    ]);
    expect(await a.domain(ACME, "news.acme.com", y)).toEqual(s.domains[1]);
    expect(await a.domain(ACME, "nothing.example", y)).toEqual({
      domain: "nothing.example",
      recipients: 0,
      delivered: 0,
      bounces: 0,
      softBounces: 0,
      hardBounces: 0,
    });
    // The last 10 activities are in the recipient view (one row per recipient, current status up to
    // `now`); m3's bounce (16:00Z) is after `now`, so only its Delivered row is in the window.
    expect(s.recent.map((r) => r.eventId)).toEqual([
      "m9.0:Delivered:0",
      "m8.0:Pending:0",
      "m7.0:SoftBounce:0",
      "m4.0:Delivered:2",
      "m6.0:Delivered:0",
      "m5.0:Rejected:0",
      "m3.0:Delivered:0",
      "m2.0:Delivered:1",
      "m1.0:Delivered:0",
    ]);
    expect(s.kpis.totalRecipients).toEqual({ value: 4, previous: 2, change: 100 });
  });

  it("the one-pass dashboard query equals the separate queries (KPIs, series, domains) for every preset", async () => {
    for (const preset of ["today", "yesterday", "7d", "30d"] as const) {
      for (const view of ["new", "cumulative"] as const) {
        const p = presetPeriod(preset, NOW, ACME_TZ);
        const s = await a.stats(ACME, p, view, NOW);
        expect(s.kpis).toEqual(await kpis(h.client, ACME, p));
        expect(s.series).toEqual({ ...(await series(h.client, ACME, p, view)), view });
        expect(s.domains).toEqual(await domainFigures(h.client, ACME, p));
      }
    }
  });

  it("other accounts' recipients never show in acme's figures", async () => {
    const g = await periodFigures(h.client, GLOBEX, presetPeriod("yesterday", NOW, "UTC"));
    expect(g).toEqual({
      recipients: 1,
      delivered: 1,
      softBounces: 0,
      hardBounces: 0,
      rejected: 0,
      inFlight: 0,
      testRecipients: 0,
    });
  });
});
