/**
 * Analytics benchmark (issue 6, results in BENCHMARKS.md): `npm run bench:analytics`.
 *
 * 1. Loads BENCH_ROWS synthetic status events (default 10,000,000) for 1,000 accounts into chDB with
 *    INSERT ... SELECT FROM numbers() (the materialized views of migrations 0002 and 0003 run as for
 *    the sink); account acct-0 is the largest (1 recipient in 20, plus its share of the rest).
 * 2. Checks that the final-status pre-aggregate (stats_final) and the raw path give the same dashboard
 *    (8 accounts, 4 zones, presets and a custom range off the slot edges): `mismatches` must be [].
 * 3. Times, for the largest account, with the API's query code (shared/analytics): the Activity list in
 *    the recipient view (default) and the events view, activity search by
 *    recipient and by sender (also in another case), by subject substring (30-day window), the
 *    30-day statistics (KPIs with previous period, daily series, domains, last 10), and the dashboard
 *    figures alone through the pre-aggregate and through the raw path — p50/p95 over BENCH_RUNS runs
 *    (default 30).
 * 4. Sink throughput: BENCH_SINK_EVENTS events (default 200,000) published to a LogBus, then drained
 *    by the sink into chDB; events/s from the first record to the last insert.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { searchActivity } from "../../shared/analytics/activity.ts";
import { bucketFor, customPeriod, presetPeriod } from "../../shared/analytics/period.ts";
import { dashboard } from "../../shared/analytics/queries.ts";
import { createAnalytics } from "../../shared/analytics/service.ts";
import { startSink } from "../../shared/analytics/sink.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { STATUS_EVENTS_TOPIC, type StatusEvent } from "../../shared/model/event.ts";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const SINK_EVENTS = Number(process.env.BENCH_SINK_EVENTS ?? 200_000);
const CHUNK = 1_000_000;
const DAY = 86_400_000;

// BENCH_DIR keeps the loaded store for later runs (the load takes minutes): a second run with the same
// BENCH_DIR and BENCH_ROWS skips the load and times the queries at the first run's clock.
const keep = process.env.BENCH_DIR;
const dir = keep ?? mkdtempSync(join(tmpdir(), "petrel-bench-analytics-"));
if (keep) mkdirSync(keep, { recursive: true });
const marker = join(dir, "bench-loaded.json");
const loaded = existsSync(marker)
  ? (JSON.parse(readFileSync(marker, "utf8")) as { rows: number; now: number })
  : undefined;
if (loaded && loaded.rows !== ROWS) throw new Error(`BENCH_DIR holds ${loaded.rows} rows, not ${ROWS}`);
const h = await openClickHouse({ dataDir: dir, database: "bench" });
await migrate(h.client);
const now = loaded?.now ?? Date.now();
const start = now - 85 * DAY;

// r = recipient number; two events per recipient (Accepted, then its final status a minute later).
const load = (from: number, n: number) => `
INSERT INTO events (event_id, account_id, message_id, recipient_id, recipient, recipient_domain, sender, sending_domain,
  smtp_user, subject, status, reason, remote_reply, mx_host, is_test, ts)
SELECT
  concat(toString(r), ':', st, ':0') AS event_id,
  acct AS account_id,
  concat('<', toString(r), '@bench>') AS message_id,
  -- as Petrel's ids (ingress/ids.ts), the recipient id starts with its accept time: sortable by it
  concat(leftPad(hex(toUInt64(${start} + (r * 7919) % (${85 * DAY}))), 12, '0'), '.', toString(r)) AS recipient_id,
  concat('user', toString(r % 200000), '@example', toString(r % 50), '.com') AS recipient,
  concat('example', toString(r % 50), '.com') AS recipient_domain,
  concat('noreply@d', toString(r % 3), '.', acct, '.com') AS sender,
  concat('d', toString(r % 3), '.', acct, '.com') AS sending_domain,
  'smtp-user' AS smtp_user,
  concat('Order ', toString(r % 100000), ' has shipped') AS subject,
  st AS status,
  multiIf(st = 'SoftBounce', 'mailbox_full', st = 'HardBounce', 'unknown_user', 'none') AS reason,
  '' AS remote_reply, '' AS mx_host, 0 AS is_test,
  fromUnixTimestamp64Milli(toInt64(${start} + (r * 7919) % (${85 * DAY}) + (number % 2) * 60000), 'UTC') AS ts
FROM (
  SELECT number, intDiv(number, 2) AS r,
    concat('acct-', toString(if(r % 20 = 0, 0, cityHash64(r) % 1000))) AS acct,
    if(number % 2 = 0, 'Accepted', multiIf(r % 10 < 8, 'Delivered', r % 10 = 8, 'SoftBounce', 'HardBounce')) AS st
  FROM numbers(${from}, ${n})
)`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
async function time(name: string, f: () => Promise<unknown>) {
  await f(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await f();
    xs.push(performance.now() - t);
  }
  const r = { query: name, p50_ms: +pct(xs, 50).toFixed(1), p95_ms: +pct(xs, 95).toFixed(1) };
  console.log(JSON.stringify(r));
  return r;
}

try {
  const t0 = performance.now();
  for (let from = 0; !loaded && from < ROWS; from += CHUNK) {
    await h.client.command({ query: load(from, Math.min(CHUNK, ROWS - from)) });
    process.stderr.write(`loaded ${Math.min(from + CHUNK, ROWS)} rows\n`);
  }
  if (!loaded) {
    await h.client.command({ query: "OPTIMIZE TABLE recipient_final FINAL" });
    await h.client.command({ query: "OPTIMIZE TABLE stats_final FINAL" });
    if (keep) writeFileSync(marker, JSON.stringify({ rows: ROWS, now }));
  }
  const loadS = (performance.now() - t0) / 1000;
  const q = async <T>(query: string) =>
    (await (await h.client.query({ query, format: "JSONEachRow" })).json()) as T[];
  const [sizes] = await q<{ rows: string; accounts: string }>(
    "SELECT count() AS rows, uniqExact(account_id) AS accounts FROM events",
  );
  const [big] = await q<{ n: string }>("SELECT count() AS n FROM events WHERE account_id = 'acct-0'");
  console.log(
    JSON.stringify({
      rows: Number(sizes!.rows),
      accounts: Number(sizes!.accounts),
      largestAccountRows: Number(big!.n),
      loadSeconds: +loadS.toFixed(1),
    }),
  );

  const a = createAnalytics(h.client);
  const win = { from: now - 30 * DAY, to: now + 1 };

  // Exactness on the loaded data: the pre-aggregate (stats_final) and the raw path (recipient_final)
  // give the same dashboard, for the largest account and 7 others, in zones with :00, :30 and :45
  // offsets, presets and a custom range whose ends are not on 15-minute slots.
  const accounts = ["acct-0", ...Array.from({ length: 7 }, (_, i) => `acct-${i * 137 + 7}`)];
  const zones = ["Europe/Paris", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York"];
  let compared = 0;
  const mismatches: string[] = [];
  for (const [i, acct] of accounts.entries()) {
    const tz = zones[i % zones.length]!;
    const periods = [
      presetPeriod("30d", now, tz),
      presetPeriod("today", now, tz),
      customPeriod(now - 9 * DAY - 123_457, now - 2 * DAY + 654_321, tz),
    ];
    for (const p of periods) {
      const fast = await dashboard(h.client, acct, p, "new", bucketFor(p));
      const raw = await dashboard(h.client, acct, p, "new", bucketFor(p), { raw: true });
      compared++;
      if (JSON.stringify(fast) !== JSON.stringify(raw)) mismatches.push(`${acct} ${tz} ${p.from}-${p.to}`);
    }
  }
  console.log(JSON.stringify({ exactnessChecks: compared, mismatches }));

  const results = [
    await time("activity, recipient view, first page (largest account, 30 days)", () =>
      searchActivity(h.client, "acct-0", { ...win, limit: 50 }, "UTC"),
    ),
    await time("activity, recipient view, status=HardBounce (largest account, 30 days)", () =>
      searchActivity(h.client, "acct-0", { ...win, status: ["HardBounce"], limit: 50 }, "UTC"),
    ),
    await time("activity, events view, first page (largest account, 30 days)", () =>
      searchActivity(h.client, "acct-0", { ...win, limit: 50, view: "events" }, "UTC"),
    ),
    await time("activity search by recipient (largest account, 30 days)", () =>
      searchActivity(h.client, "acct-0", { ...win, recipient: "user40@example40.com", limit: 50 }, "UTC"),
    ),
    await time("activity search by recipient, other case (largest account, 30 days)", () =>
      searchActivity(h.client, "acct-0", { ...win, recipient: "User40@EXAMPLE40.com", limit: 50 }, "UTC"),
    ),
    await time("activity search by sender, other case (largest account, 30 days)", () =>
      searchActivity(h.client, "acct-0", { ...win, sender: "NoReply@D1.acct-0.com", limit: 50 }, "UTC"),
    ),
    await time("activity search by subject substring (largest account, 30 days)", () =>
      searchActivity(h.client, "acct-0", { ...win, subject: "order 4242", limit: 50 }, "UTC"),
    ),
    await time("statistics, last 30 days (largest account: KPIs+previous, series, domains, last 10)", () =>
      a.stats("acct-0", presetPeriod("30d", now, "Europe/Paris"), "new", now),
    ),
    await time("statistics, last 30 days (a typical account)", () =>
      a.stats("acct-500", presetPeriod("30d", now, "Europe/Paris"), "new", now),
    ),
    await time("dashboard figures only, last 30 days (largest account), pre-aggregate", () => {
      const p = presetPeriod("30d", now, "Europe/Paris");
      return dashboard(h.client, "acct-0", p, "new", bucketFor(p));
    }),
    await time("dashboard figures only, last 30 days (largest account), raw recipient_final (before)", () => {
      const p = presetPeriod("30d", now, "Europe/Paris");
      return dashboard(h.client, "acct-0", p, "new", bucketFor(p), { raw: true });
    }),
  ];

  // Sink throughput
  const busDir = join(dir, "bus");
  const bus = await LogBus.open({ dir: busDir, maintenanceIntervalMs: 0, fsync: true });
  await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: 8 }]);
  const enc = new TextEncoder();
  for (let i = 0; i < SINK_EVENTS; i += 5000) {
    const batch = [];
    for (let j = i; j < Math.min(i + 5000, SINK_EVENTS); j++) {
      const e: StatusEvent = {
        eventId: `sink${j}:Accepted:0`,
        accountId: `sink-acct-${j % 1000}`,
        messageId: `<s${j}@bench>`,
        recipientId: `sink${j}`,
        recipient: `u${j}@example.com`,
        recipientDomain: "example.com",
        sender: "a@b.com",
        sendingDomain: "b.com",
        smtpUser: "u",
        subject: `s ${j}`,
        status: "Accepted",
        reason: "none",
        remoteReply: "",
        mxHost: "",
        isTest: false,
        ts: now - (j % 1000) * 1000,
        attempt: 0,
      };
      batch.push({ key: e.accountId, value: enc.encode(JSON.stringify(e)) });
    }
    await bus.publish(STATUS_EVENTS_TOPIC, batch);
  }
  const before = Number((await q<{ n: string }>("SELECT count() AS n FROM events"))[0]!.n);
  const ts = performance.now();
  const sink = await startSink({ bus, client: h.client, maxBatch: 5000, flushMs: 50, group: "bench" });
  for (let i = 0; i < 6000 && sink.stats.inserted < SINK_EVENTS; i++)
    await new Promise((r) => setTimeout(r, 50));
  const sinkS = (performance.now() - ts) / 1000;
  await sink.close();
  await bus.close();
  const after = Number((await q<{ n: string }>("SELECT count() AS n FROM events"))[0]!.n);
  console.log(
    JSON.stringify({
      sinkEvents: after - before,
      sinkSeconds: +sinkS.toFixed(2),
      sinkEventsPerSecond: Math.round((after - before) / sinkS),
      batches: sink.stats.batches,
    }),
  );
  void results;
} finally {
  await h.close();
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
