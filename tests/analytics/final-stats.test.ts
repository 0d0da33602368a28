/**
 * The final-status pre-aggregate (migration 0003, shared/analytics/final-stats.ts), A4–A6:
 * - which part of a window is read from `stats_final` and which from `recipient_final` (literal table);
 * - on random events (supersession by later bounces, deferred-then-delivered, rejected, sandbox,
 *   events arriving out of order, batches replayed with other boundaries): the count rows equal an
 *   independent model of "recipients by first-event slot, domain and final status", and every figure
 *   (KPIs, series, domains) read through the pre-aggregate equals the raw `recipient_final` path, in
 *   zones with :00, :30 and :45 offsets and DST, for presets and custom ranges off the slot edges;
 * - the backfill of a database that had events before migration 0003.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planWindow } from "../../shared/analytics/final-stats.ts";
import { bucketFor, customPeriod, presetPeriod } from "../../shared/analytics/period.ts";
import { dashboard, domainFigures, kpis, periodFigures, series } from "../../shared/analytics/queries.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { MIGRATIONS, migrate } from "../../shared/clickhouse/migrations.ts";
import { type StatusEvent, statusEventId } from "../../shared/model/event.ts";
import type { RecipientStatus } from "../../shared/model/status.ts";
import { model, stored } from "./final-model.ts";
import { insertEvents, liftTtl } from "./fixture.ts";

const T = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const DAY = 86_400_000;

describe("planWindow: pre-aggregated whole slots, raw edges", () => {
  const cases: [string, Parameters<typeof planWindow>[0], ReturnType<typeof planWindow>][] = [
    [
      "Kolkata day (18:30Z edges), hourly: all slots",
      {
        from: T("2026-11-02T18:30:00Z"),
        split: T("2026-11-02T18:30:00Z"),
        to: T("2026-11-03T18:30:00Z"),
        timezone: "Asia/Kolkata",
        bucket: "hour",
      },
      { slots: { from: T("2026-11-02T18:30:00Z"), to: T("2026-11-03T18:30:00Z") }, raw: [] },
    ],
    [
      "custom range off the slot edges: raw edges",
      {
        from: T("2026-11-02T10:07:00Z"),
        split: T("2026-11-02T10:07:00Z"),
        to: T("2026-11-02T12:52:00Z"),
        timezone: "UTC",
        bucket: "hour",
      },
      {
        slots: { from: T("2026-11-02T10:15:00Z"), to: T("2026-11-02T12:45:00Z") },
        raw: [
          [T("2026-11-02T10:07:00Z"), T("2026-11-02T10:15:00Z")],
          [T("2026-11-02T12:45:00Z"), T("2026-11-02T12:52:00Z")],
        ],
      },
    ],
    [
      "split (start of the current period) off the edges: its slot is raw",
      {
        from: T("2026-11-01T10:00:00Z"),
        split: T("2026-11-02T10:07:00Z"),
        to: T("2026-11-03T10:00:00Z"),
        timezone: "UTC",
        bucket: "day",
      },
      {
        slots: {
          from: T("2026-11-01T10:00:00Z"),
          to: T("2026-11-03T10:00:00Z"),
          exclude: T("2026-11-02T10:00:00Z"),
        },
        raw: [[T("2026-11-02T10:00:00Z"), T("2026-11-02T10:15:00Z")]],
      },
    ],
    [
      "inside one slot: all raw",
      {
        from: T("2026-11-02T10:01:00Z"),
        split: T("2026-11-02T10:01:00Z"),
        to: T("2026-11-02T10:14:00Z"),
        timezone: "UTC",
      },
      { raw: [[T("2026-11-02T10:01:00Z"), T("2026-11-02T10:14:00Z")]] },
    ],
    [
      "retention edge: older slots raw",
      {
        from: T("2026-08-01T00:00:00Z"),
        split: T("2026-08-01T00:00:00Z"),
        to: T("2026-09-01T00:00:00Z"),
        timezone: "UTC",
        bucket: "day",
        retainedFrom: T("2026-08-10T00:05:00Z"),
      },
      {
        slots: { from: T("2026-08-10T00:15:00Z"), to: T("2026-09-01T00:00:00Z") },
        raw: [[T("2026-08-01T00:00:00Z"), T("2026-08-10T00:15:00Z")]],
      },
    ],
    [
      "a zone off the 15-minute grid (Monrovia, −0:44:30 in 1971), bucketed: all raw",
      {
        from: T("1971-03-01T00:44:30Z"),
        split: T("1971-03-01T00:44:30Z"),
        to: T("1971-03-03T00:44:30Z"),
        timezone: "Africa/Monrovia",
        bucket: "hour",
      },
      { raw: [[T("1971-03-01T00:44:30Z"), T("1971-03-03T00:44:30Z")]] },
    ],
    [
      "the same without buckets: the zone does not matter",
      {
        from: T("1971-03-01T00:45:00Z"),
        split: T("1971-03-01T00:45:00Z"),
        to: T("1971-03-03T00:45:00Z"),
        timezone: "Africa/Monrovia",
      },
      { slots: { from: T("1971-03-01T00:45:00Z"), to: T("1971-03-03T00:45:00Z") }, raw: [] },
    ],
    [
      "raw asked for",
      {
        from: T("2026-11-02T00:00:00Z"),
        split: T("2026-11-02T00:00:00Z"),
        to: T("2026-11-03T00:00:00Z"),
        timezone: "UTC",
        raw: true,
      },
      { raw: [[T("2026-11-02T00:00:00Z"), T("2026-11-03T00:00:00Z")]] },
    ],
  ];
  it.each(cases)("%s", (_name, w, want) => {
    expect(planWindow(w)).toEqual(want);
  });

  it("presets in zones with :30/:45 offsets and DST read no raw part", () => {
    const now = T("2026-11-03T15:00:00Z");
    for (const tz of [
      "Asia/Kolkata",
      "Asia/Kathmandu",
      "Australia/Lord_Howe",
      "America/St_Johns",
      "America/New_York",
    ]) {
      for (const preset of ["today", "yesterday", "7d", "30d"] as const) {
        const p = presetPeriod(preset, now, tz);
        const plan = planWindow({
          from: p.from - DAY * 31,
          split: p.from,
          to: p.to,
          timezone: tz,
          bucket: bucketFor(p),
        });
        expect(plan.raw, `${tz} ${preset}`).toEqual([]);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACCOUNTS = ["p-a", "p-b", "p-c"];
const BASE = Math.floor((Date.now() - 45 * DAY) / DAY) * DAY;

function makeEvents(seed: number, n: number): StatusEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const out: StatusEvent[] = [];
  for (let i = 0; i < n; i++) {
    const account = pick(ACCOUNTS);
    const rid = `${account}-m${i}.0`;
    const domain = pick(["a.example", "b.example", "news.a.example"]);
    const isTest = r() < 0.05;
    const t = BASE + Math.floor(r() * 40 * DAY) + Math.floor(r() * 1000);
    const seq: [RecipientStatus, number, number][] = []; // status, offset ms, attempt
    switch (Math.floor(r() * 7)) {
      case 0:
        seq.push(["Rejected", 0, 0]);
        break;
      case 1:
        seq.push(["Accepted", 0, 0], ["Delivered", 1000 + Math.floor(r() * 10 * MIN), 0]);
        break;
      case 2:
        seq.push(["Accepted", 0, 0], ["Deferred", 5 * MIN, 0], ["Delivered", 65 * MIN, 1]);
        break;
      case 3: // A6: delivered, then a delayed bounce, possibly days later
        seq.push(
          ["Accepted", 0, 0],
          ["Delivered", MIN, 0],
          ["HardBounce", MIN + Math.floor(r() * 3 * DAY), 0],
        );
        break;
      case 4:
        seq.push(["Accepted", 0, 0], ["Deferred", 7 * MIN, 0], ["SoftBounce", 3 * DAY, 1]);
        break;
      case 5: // same millisecond: the rank decides
        seq.push(["Accepted", 0, 0], ["Pending", 0, 0]);
        break;
      default:
        seq.push(["Accepted", 0, 0]);
    }
    for (const [status, off, attempt] of seq) {
      out.push({
        eventId: statusEventId(rid, status, attempt),
        accountId: account,
        messageId: `<${rid}@x>`,
        recipientId: rid,
        recipient: `r${i}@rcpt.example`,
        recipientDomain: "rcpt.example",
        sender: `app@${domain}`,
        sendingDomain: domain,
        smtpUser: "u",
        subject: `s${i}`,
        status,
        reason: "none",
        remoteReply: "",
        mxHost: "",
        isTest,
        ts: t + off,
        attempt,
      });
    }
  }
  // Mostly in time order; one event in ten arrives late (after newer events of its recipient).
  out.sort((x, y) => x.ts - y.ts);
  const late = out.filter(() => r() < 0.1);
  const onTime = out.filter((e) => !late.includes(e));
  return [...onTime, ...late];
}

/** Batches of random size; one in four is inserted again later, with other boundaries (a replay). */
function batches(events: StatusEvent[], seed: number): StatusEvent[][] {
  const r = rng(seed);
  const out: StatusEvent[][] = [];
  for (let i = 0; i < events.length; ) {
    const n = 1 + Math.floor(r() * 80);
    out.push(events.slice(i, i + n));
    if (r() < 0.25) {
      const from = Math.max(0, i - Math.floor(r() * 40));
      out.push(events.slice(from, i + n + Math.floor(r() * 40)));
    }
    i += n;
  }
  return out;
}

const ZONES = [
  "UTC",
  "America/New_York",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Lord_Howe",
  "America/St_Johns",
];

const dataDir = mkdtempSync(join(tmpdir(), "petrel-final-stats-"));
let h: ClickHouseHandle;
beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "final_stats" });
});
afterAll(async () => {
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("stats_final on random events with supersession and replays", () => {
  const events = makeEvents(7, 900);

  it("count rows equal the model, and every figure equals the raw path", async () => {
    await h.client.command({ query: "CREATE DATABASE IF NOT EXISTS prop" });
    const p = await openClickHouse({ dataDir, database: "prop" });
    try {
      await migrate(p.client);
      await liftTtl(p.client);
      for (const b of batches(events, 11)) await insertEvents(p.client, b);
      expect(await stored(p)).toEqual(model(events));

      const r = rng(3);
      let compared = 0;
      for (const [i, account] of ACCOUNTS.entries()) {
        for (const tz of ZONES.slice(2 * i, 2 * i + 2)) {
          const now = BASE + 35 * DAY + Math.floor(r() * 3 * DAY);
          const periods = [
            ...(["today", "yesterday", "7d", "30d"] as const).map((x) => presetPeriod(x, now, tz)),
            customPeriod(BASE + 3 * DAY + Math.floor(r() * DAY), BASE + 4 * DAY + Math.floor(r() * DAY), tz),
            customPeriod(BASE + Math.floor(r() * 5 * DAY), BASE + 20 * DAY + Math.floor(r() * DAY), tz),
          ];
          for (const period of periods) {
            for (const view of compared % 2 === 0 ? (["new", "cumulative"] as const) : (["new"] as const)) {
              const fast = await dashboard(p.client, account, period, view);
              const raw = await dashboard(p.client, account, period, view, bucketFor(period), { raw: true });
              expect(fast, `${account} ${tz} ${period.from}-${period.to} ${view}`).toEqual(raw);
              compared++;
            }
            expect(await kpis(p.client, account, period)).toEqual(
              await kpis(p.client, account, period, { raw: true }),
            );
            expect(await series(p.client, account, period, "new")).toEqual(
              await series(p.client, account, period, "new", bucketFor(period), { raw: true }),
            );
            expect(await domainFigures(p.client, account, period, "a.example")).toEqual(
              await domainFigures(p.client, account, period, "a.example", { raw: true }),
            );
          }
        }
      }
      expect(compared).toBeGreaterThanOrEqual(ACCOUNTS.length * 2 * 6);
      // The comparison is not vacuous: the figures have recipients, bounces that superseded Delivered.
      const all = await periodFigures(p.client, "p-a", { from: BASE, to: BASE + 50 * DAY });
      expect(all.recipients).toBeGreaterThan(100);
      expect(all.hardBounces).toBeGreaterThan(10);
    } finally {
      await p.close();
    }
  }, 600_000);

  it("a database with events from before migration 0003 is backfilled, then kept exact", async () => {
    await h.client.command({ query: "CREATE DATABASE IF NOT EXISTS backfill" });
    const p = await openClickHouse({ dataDir, database: "backfill" });
    try {
      const [first, second] = [events.slice(0, 1200), events.slice(1200)];
      await migrate(
        p.client,
        MIGRATIONS.filter((m) => m.version < 3),
      );
      for (const b of batches(first, 5)) await insertEvents(p.client, b);
      const applied = await migrate(
        p.client,
        MIGRATIONS.filter((m) => m.version <= 3),
      );
      expect(applied.applied.map((m) => m.version)).toEqual([3]);
      expect(await stored(p)).toEqual(model(first));
      // Later events (bounces superseding backfilled Delivered ones among them), replays included.
      for (const b of batches(second, 6)) await insertEvents(p.client, b);
      expect(await stored(p)).toEqual(model(events));
      // Running the backfill statement again (a migration retried) changes nothing.
      const m3 = MIGRATIONS.find((m) => m.version === 3)!;
      await p.client.command({ query: m3.statements[1]! });
      expect(await stored(p)).toEqual(model(events));
    } finally {
      await p.close();
    }
  }, 240_000);
});
