/**
 * What the API's read routes call (edge-api/v1/ops/activity.ts, stats.ts and edge-api/edge.ts): the
 * queries of this folder bound to one ClickHouse client. Runtime-neutral (no Node import).
 */
import {
  type ActivityFilter,
  type ActivityPage,
  type ActivityRow,
  activityCsvStream,
  recipientTimeline,
  searchActivity,
} from "./activity.ts";
import type { QueryClient } from "./client.ts";
import { bucketFor, type Period, type PeriodPreset, presetPeriod, previousPeriod } from "./period.ts";
import {
  type Dashboard,
  type DomainFigures,
  dashboard,
  domainFigures,
  type Kpis,
  kpisOf,
  type SeriesView,
} from "./queries.ts";

export interface StatsAnswer {
  period: { from: string; to: string; timezone: string };
  previous: { from: string; to: string };
  /** Rates over recipients with a final status; null ("—") when none has one (A5). */
  kpis: Kpis;
  /** Accepted recipients of the period still without a final status, shown apart from the rates (A5). */
  inFlight: number;
  /**
   * S14: test (sandbox) recipients of the period; left out of every figure unless `included`
   * (`tests=include`), and counted here either way so the Dashboard can say so.
   */
  testRecipients: { count: number; included: boolean };
  series: Dashboard["series"] & { view: SeriesView };
  domains: DomainFigures[];
  /** A4: the last 10 activities (recipient view, any time within the default 30-day window). */
  recent: ActivityPage["rows"];
}

export interface Analytics {
  activity(accountId: string, filter: ActivityFilter, timezone: string): Promise<ActivityPage>;
  activityCsv(
    accountId: string,
    filter: Omit<ActivityFilter, "cursor" | "limit">,
    timezone: string,
  ): ReadableStream<Uint8Array>;
  /** A1: every status event of one recipient of the account, oldest first; [] when none. */
  timeline(accountId: string, recipientId: string, timezone: string): Promise<ActivityRow[]>;
  stats(
    accountId: string,
    period: Period,
    view: SeriesView,
    now: number,
    o?: { includeTests?: boolean },
  ): Promise<StatsAnswer>;
  /** `now` (the caller's clock) bounds the pre-aggregate to the retained days; see final-stats.ts. */
  domain(accountId: string, domain: string, period: Period, now?: number): Promise<DomainFigures>;
}

const iso = (ms: number) => new Date(ms).toISOString();
export const DAY_MS = 86_400_000;
/** Slots older than this before `now` are read raw: the 90-day TTL may be removing them (A2). */
export const PREAGGREGATE_DAYS = 89;
const retainedFrom = (now: number | undefined) =>
  now === undefined ? {} : { retainedFrom: now - PREAGGREGATE_DAYS * DAY_MS };

/**
 * A4's last 10 activities within 30 days, in the recipient view (one row per recipient, A1): the last day first (where they nearly always are, and
 * cheaper to read), the whole 30 days only when that day has fewer than 10. The same rows either way:
 * every row of the last day is newer than every row before it.
 */
async function recentActivity(
  client: QueryClient,
  accountId: string,
  now: number,
  timezone: string,
): Promise<ActivityPage> {
  const day = await searchActivity(
    client,
    accountId,
    { from: now - DAY_MS, to: now + 1, limit: 10, view: "recipients" },
    timezone,
  );
  if (day.rows.length >= 10) return day;
  return searchActivity(
    client,
    accountId,
    { from: now - 30 * DAY_MS, to: now + 1, limit: 10, view: "recipients" },
    timezone,
  );
}

export function createAnalytics(client: QueryClient): Analytics {
  return {
    activity: (accountId, filter, tz) => searchActivity(client, accountId, filter, tz),
    activityCsv: (accountId, filter, tz) => activityCsvStream(client, accountId, filter, tz),
    timeline: (accountId, recipientId, tz) => recipientTimeline(client, accountId, recipientId, tz),
    async stats(accountId, period, view, now, o) {
      const prev = previousPeriod(period);
      const includeTests = o?.includeTests === true;
      const [d, recent] = await Promise.all([
        dashboard(client, accountId, period, view, bucketFor(period), { ...retainedFrom(now), includeTests }),
        recentActivity(client, accountId, now, period.timezone),
      ]);
      return {
        period: { from: iso(period.from), to: iso(period.to), timezone: period.timezone },
        previous: { from: iso(prev.from), to: iso(prev.to) },
        kpis: kpisOf(d.current, d.previous),
        inFlight: d.current.inFlight,
        testRecipients: { count: d.current.testRecipients, included: includeTests },
        series: { ...d.series, view },
        domains: d.domains,
        recent: recent.rows,
      };
    },
    async domain(accountId, domain, period, now) {
      const [f] = await domainFigures(client, accountId, period, domain, retainedFrom(now));
      return f ?? { domain, recipients: 0, delivered: 0, bounces: 0, softBounces: 0, hardBounces: 0 };
    },
  };
}

export type { PeriodPreset };
export { presetPeriod };
