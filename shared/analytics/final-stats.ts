/**
 * Where Statistics' figures come from (A4–A6): the final-status pre-aggregate `stats_final`
 * (shared/clickhouse/migrations/0003_final_stats.ts: recipients by 15-minute UTC slot of their first
 * event, sending domain and final status, corrected when a status supersedes another) for every whole
 * slot of the window, and the per-recipient `recipient_final` ("raw") for the rest. The two give the
 * same figures by construction; the raw path stays as the reference and the fallback.
 *
 * `planWindow` (pure) decides which part is read where:
 * - slots are 15 minutes, UTC; a bound that is not on a slot edge (a custom range) leaves its partial
 *   slot to raw, so any range is exact;
 * - buckets (local hours/days) must be unions of whole slots: true when the zone's UTC offset is a
 *   multiple of 15 minutes throughout the window (every zone in use today, including +05:30 and
 *   +05:45); otherwise the whole window is read raw;
 * - slots before `retainedFrom` (the 90-day TTL of migration 0003 may have removed them while a
 *   recipient's row in `recipient_final`, kept 90 days after its *last* event, remains) are read raw.
 */
import { DateTime } from "luxon";
import { type QueryClient, rows } from "./client.ts";
import type { Bucket } from "./period.ts";

export const SLOT_MS = 15 * 60_000;

export interface WindowQuery {
  /** [from, to), ms since the epoch; rows carry `cur` = first event at or after `split`. */
  from: number;
  split: number;
  to: number;
  timezone: string;
  /** Group by this bucket of the zone (`b` = bucket start, s); undefined: no time grouping (`b` = 0). */
  bucket?: Bucket;
  /** Only this sending domain. */
  domain?: string;
  /** Slots starting before this are read raw (retention edge); undefined: no limit. */
  retainedFrom?: number;
  /** Read everything from `recipient_final` (the reference the tests and the benchmark compare with). */
  raw?: boolean;
}

export interface WindowPlan {
  /** Whole slots [from, to) read from `stats_final`, minus `exclude` (a slot start), if any. */
  slots?: { from: number; to: number; exclude?: number };
  /** Intervals read from `recipient_final`. */
  raw: [number, number][];
}

const floorSlot = (t: number) => Math.floor(t / SLOT_MS) * SLOT_MS;
const ceilSlot = (t: number) => Math.ceil(t / SLOT_MS) * SLOT_MS;

/** True when every local hour/day boundary of the window falls on a 15-minute UTC slot edge. */
export function zoneOnSlots(from: number, to: number, timezone: string): boolean {
  const ok = (t: number) => {
    const d = DateTime.fromMillis(t, { zone: timezone });
    return d.isValid && d.offset % 15 === 0;
  };
  // Offsets change at transitions (DST: between two offsets on the grid); an offset off the grid
  // (historic local mean time) lasted years, so a sample a day (and the ends) finds it.
  for (let t = from; t < to; t += 86_400_000) if (!ok(t)) return false;
  return ok(to - 1) && ok(to);
}

export function planWindow(w: Omit<WindowQuery, "domain">): WindowPlan {
  const all: WindowPlan = { raw: [[w.from, w.to]] };
  if (w.raw) return all;
  if (w.bucket !== undefined && !zoneOnSlots(w.from, w.to, w.timezone)) return all;
  const a = Math.max(ceilSlot(w.from), w.retainedFrom !== undefined ? ceilSlot(w.retainedFrom) : -Infinity);
  const b = floorSlot(w.to);
  if (a >= b) return all;
  const raw: [number, number][] = [];
  if (w.from < a) raw.push([w.from, a]);
  let exclude: number | undefined;
  if (w.split % SLOT_MS !== 0 && w.split > a && w.split < b) {
    exclude = floorSlot(w.split);
    raw.push([exclude, exclude + SLOT_MS]);
  }
  if (b < w.to) raw.push([b, w.to]);
  return { slots: { from: a, to: b, ...(exclude !== undefined ? { exclude } : {}) }, raw };
}

export interface FigureGroupRow {
  cur: number | string;
  /** 1: test (sandbox) recipients, read raw over the whole window; 0: the others. */
  t: number | string;
  b: number | string;
  d: string;
  recipients: string;
  delivered: string;
  soft: string;
  hard: string;
  rejected: string;
  /** Accepted recipients without a final status yet (Accepted, Pending, Deferred). */
  inflight: string;
}

const IN_FLIGHT = "('Accepted', 'Pending', 'Deferred')";

const BUCKET_FN: Record<Bucket, string> = { hour: "toStartOfHour", day: "toStartOfDay" };
const ms = (p: string) => `fromUnixTimestamp64Milli({${p}:Int64}, 'UTC')`;

/**
 * Raw: recipients of `recipient_final` whose first event is in one of `intervals`. Rows of one
 * recipient may sit in parts not merged yet, so rows are not filtered one by one (a row holding only
 * a recipient's Accepted from before the window would be dropped and its later row counted in the
 * window): the recipients are chosen first (some row overlaps an interval: the row holding a
 * recipient's first event does), then all their rows merged.
 */
function rawQuery(
  w: WindowQuery,
  intervals: [number, number][],
  params: Record<string, unknown>,
  test: 0 | 1 = 0,
): string {
  const conds: string[] = [];
  const overlaps: string[] = [];
  const pf = test === 1 ? "x" : "r"; // parameter names of the two raw parts stay apart
  intervals.forEach(([f, t], i) => {
    params[`${pf}f${i}`] = f;
    params[`${pf}t${i}`] = t;
    conds.push(`(first >= ${ms(`${pf}f${i}`)} AND first < ${ms(`${pf}t${i}`)})`);
    overlaps.push(`(last_ts >= ${ms(`${pf}f${i}`)} AND first_ts < ${ms(`${pf}t${i}`)})`);
  });
  const b = w.bucket ? `toUnixTimestamp(${BUCKET_FN[w.bucket]}(toDateTime(first, 'UTC'), {tz:String}))` : "0";
  const dom = w.domain !== undefined ? "AND sending_domain = {domain:String}" : "";
  // A recipient's rows all carry the same is_test (its address decides), so test recipients are
  // chosen by the rows' flag already.
  const onlyTests = test === 1 ? "AND is_test = 1" : "";
  return `SELECT toUInt8(first >= ${ms("split")}) AS cur, toUInt8(${test}) AS t, ${b} AS b, domain AS d,
    toInt64(countIf(final_status != 'Rejected')) AS recipients,
    toInt64(countIf(final_status = 'Delivered')) AS delivered,
    toInt64(countIf(final_status = 'SoftBounce')) AS soft, toInt64(countIf(final_status = 'HardBounce')) AS hard,
    toInt64(countIf(final_status = 'Rejected')) AS rejected,
    toInt64(countIf(final_status IN ${IN_FLIGHT})) AS inflight
  FROM (
    SELECT recipient_id, min(first_ts) AS first, argMaxMerge(status) AS final_status,
      any(sending_domain) AS domain, max(is_test) AS test
    FROM recipient_final
    WHERE account_id = {account:String} ${dom} AND recipient_id IN (
      SELECT recipient_id FROM recipient_final
      WHERE account_id = {account:String} AND (${overlaps.join(" OR ")}) ${dom} ${onlyTests})
    GROUP BY recipient_id
    HAVING (${conds.join(" OR ")}) AND test = ${test}
  )
  GROUP BY cur, b, d`;
}

/** Pre-aggregated: the count rows of `stats_final` over whole slots. */
function slotQuery(w: WindowQuery, s: NonNullable<WindowPlan["slots"]>, params: Record<string, unknown>) {
  params.sf = s.from / 1000;
  params.st = s.to / 1000;
  const excl = s.exclude !== undefined ? "AND slot != toDateTime({sx:UInt32}, 'UTC')" : "";
  if (s.exclude !== undefined) params.sx = s.exclude / 1000;
  const b = w.bucket ? `toUnixTimestamp(${BUCKET_FN[w.bucket]}(slot, {tz:String}))` : "0";
  const dom = w.domain !== undefined ? "AND sending_domain = {domain:String}" : "";
  return `SELECT toUInt8(slot >= ${ms("split")}) AS cur, toUInt8(0) AS t, ${b} AS b, toString(sending_domain) AS d,
    sumIf(n, status != 'Rejected') AS recipients, sumIf(n, status = 'Delivered') AS delivered,
    sumIf(n, status = 'SoftBounce') AS soft, sumIf(n, status = 'HardBounce') AS hard,
    sumIf(n, status = 'Rejected') AS rejected, sumIf(n, status IN ${IN_FLIGHT}) AS inflight
  FROM (SELECT slot, sending_domain, status, recipients AS n FROM stats_final
  WHERE account_id = {account:String} AND kind = 1 AND recipient_id = ''
    AND slot >= toDateTime({sf:UInt32}, 'UTC') AND slot < toDateTime({st:UInt32}, 'UTC') ${excl} ${dom})
  GROUP BY cur, b, d
  HAVING sum(n) != 0`;
}

/**
 * The account's figures over [from, to), grouped by (cur, t, bucket, sending domain): rows of the
 * sources are disjoint in recipients (each recipient has one first event, in one slot), so the caller
 * adds them up. Test recipients (t = 1) are not in the pre-aggregate: they are read raw over the
 * whole window (a sandbox session is a handful of recipients), so the caller can count them apart
 * or include them (A5, S14).
 */
export async function figureGroups(
  client: QueryClient,
  accountId: string,
  w: WindowQuery,
): Promise<FigureGroupRow[]> {
  const plan = planWindow(w);
  const params: Record<string, unknown> = { account: accountId, split: w.split, tz: w.timezone };
  if (w.domain !== undefined) params.domain = w.domain;
  const parts: string[] = [];
  if (plan.slots) parts.push(slotQuery(w, plan.slots, params));
  if (plan.raw.length > 0) parts.push(rawQuery(w, plan.raw, params));
  parts.push(rawQuery(w, [[w.from, w.to]], params, 1));
  return rows<FigureGroupRow>(client, parts.join("\nUNION ALL\n"), params);
}
