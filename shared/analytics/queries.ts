/**
 * The analytics queries (A3–A6) as small named functions with parameters. Every one takes the
 * account id and filters `account_id = {account}` first (the leading column of every sort key):
 * no query can return another account's rows (tests/analytics/isolation.test.ts).
 *
 * Definitions (A4/A5, per recipient by final status, A6):
 * - a recipient belongs to the period holding its first event (its acceptance or refusal);
 * - sandbox recipients (is_test) are left out of Statistics (they show in Activity);
 * - `recipients` = recipients accepted (final status other than Rejected); `rejected` apart;
 * - delivered / soft / hard = recipients whose final status is Delivered / SoftBounce / HardBounce,
 *   so a Delivered that later bounced counts as a bounce;
 * - rates = count / recipients, in percent with two decimals (0 when there are no recipients).
 */
import type { QueryClient } from "./client.ts";
import { type FigureGroupRow, figureGroups } from "./final-stats.ts";
import { type Bucket, bucketFor, bucketStarts, localIso, type Period, previousPeriod } from "./period.ts";

export interface Figures {
  recipients: number;
  delivered: number;
  softBounces: number;
  hardBounces: number;
  rejected: number;
}

const ZERO: Figures = { recipients: 0, delivered: 0, softBounces: 0, hardBounces: 0, rejected: 0 };

const figures = (r: FigureGroupRow): Figures => ({
  recipients: Number(r.recipients),
  delivered: Number(r.delivered),
  softBounces: Number(r.soft),
  hardBounces: Number(r.hard),
  rejected: Number(r.rejected),
});
const add = (a: Figures, f: Figures) => {
  for (const k of Object.keys(a) as (keyof Figures)[]) a[k] += f[k];
};
const sum = (found: FigureGroupRow[], keep: (r: FigureGroupRow) => boolean = () => true): Figures => {
  const acc = { ...ZERO };
  for (const r of found) if (keep(r)) add(acc, figures(r));
  return acc;
};

/** Options of the figure queries: `retainedFrom` = start of the retained data (see final-stats.ts). */
export interface FigureOptions {
  retainedFrom?: number;
  /** Skip the pre-aggregate (the reference path; tests and the benchmark compare the two). */
  raw?: boolean;
}
const retained = (o?: FigureOptions) => ({
  ...(o?.retainedFrom !== undefined ? { retainedFrom: o.retainedFrom } : {}),
  ...(o?.raw ? { raw: true } : {}),
});

/** A5/A6 figures of one period. */
export async function periodFigures(
  client: QueryClient,
  accountId: string,
  p: { from: number; to: number; timezone?: string },
  o?: FigureOptions,
): Promise<Figures> {
  const found = await figureGroups(client, accountId, {
    from: p.from,
    split: p.from,
    to: p.to,
    timezone: p.timezone ?? "UTC",
    ...retained(o),
  });
  return sum(found);
}

export interface Kpi {
  value: number;
  previous: number;
  /** Relative change in percent, two decimals; null when the previous value is 0 (no base to compare). */
  change: number | null;
}
export interface Kpis {
  totalRecipients: Kpi;
  deliveryRate: Kpi;
  softBounceRate: Kpi;
  hardBounceRate: Kpi;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
export const rate = (n: number, of: number): number => (of > 0 ? round2((n * 100) / of) : 0);
/** A4's change: (current − previous) / previous, in percent; previous 0 → null, never Infinity. */
export function change(current: number, previous: number): number | null {
  return previous === 0 ? null : round2(((current - previous) * 100) / previous);
}
const kpi = (value: number, previous: number): Kpi => ({ value, previous, change: change(value, previous) });

export function kpisOf(cur: Figures, prev: Figures): Kpis {
  return {
    totalRecipients: kpi(cur.recipients, prev.recipients),
    deliveryRate: kpi(rate(cur.delivered, cur.recipients), rate(prev.delivered, prev.recipients)),
    softBounceRate: kpi(rate(cur.softBounces, cur.recipients), rate(prev.softBounces, prev.recipients)),
    hardBounceRate: kpi(rate(cur.hardBounces, cur.recipients), rate(prev.hardBounces, prev.recipients)),
  };
}

/** A4's four KPIs of the period with their change against the previous period of the same length. */
export async function kpis(
  client: QueryClient,
  accountId: string,
  p: Period,
  o?: FigureOptions,
): Promise<Kpis> {
  const prev = previousPeriod(p);
  const [cur, before] = await Promise.all([
    periodFigures(client, accountId, p, o),
    periodFigures(client, accountId, prev, o),
  ]);
  return kpisOf(cur, before);
}

export interface SeriesPoint extends Figures {
  /** Bucket start, ms since the epoch, and the same in the account's zone. */
  ts: number;
  time: string;
}
/** A4's time series: figures per bucket (`new`) or running totals (`cumulative`). */
export const SERIES_VIEWS = ["new", "cumulative"] as const;
export type SeriesView = (typeof SERIES_VIEWS)[number];

/** A4's time series: one point per bucket (hour up to 2 days, else day, in the account zone). */
export async function series(
  client: QueryClient,
  accountId: string,
  p: Period,
  view: SeriesView,
  bucket: Bucket = bucketFor(p),
  o?: FigureOptions,
): Promise<{ bucket: Bucket; points: SeriesPoint[] }> {
  const found = await figureGroups(client, accountId, {
    from: p.from,
    split: p.from,
    to: p.to,
    timezone: p.timezone,
    bucket,
    ...retained(o),
  });
  return { bucket, points: points(p, bucket, view, byBucket(found)) };
}

function byBucket(found: FigureGroupRow[]): Map<number, Figures> {
  const m = new Map<number, Figures>();
  for (const r of found) {
    if (Number(r.cur) !== 1) continue;
    const ts = Number(r.b) * 1000;
    add(m.get(ts) ?? m.set(ts, { ...ZERO }).get(ts)!, figures(r));
  }
  return m;
}

function points(p: Period, bucket: Bucket, view: SeriesView, byStart: Map<number, Figures>): SeriesPoint[] {
  const acc: Figures = { ...ZERO };
  return bucketStarts(p, bucket).map((ts) => {
    const f = byStart.get(ts) ?? { ...ZERO };
    if (view === "cumulative") {
      add(acc, f);
      return { ts, time: localIso(ts, p.timezone), ...acc };
    }
    return { ts, time: localIso(ts, p.timezone), ...f };
  });
}

export interface DomainFigures {
  domain: string;
  recipients: number;
  delivered: number;
  /** Soft and hard together (the domain list); apart in `softBounces` / `hardBounces` (domain page). */
  bounces: number;
  softBounces: number;
  hardBounces: number;
}

function byDomain(found: FigureGroupRow[]): DomainFigures[] {
  const m = new Map<string, Figures>();
  for (const r of found) {
    if (Number(r.cur) !== 1) continue;
    add(m.get(r.d) ?? m.set(r.d, { ...ZERO }).get(r.d)!, figures(r));
  }
  return [...m.entries()]
    .map(([domain, f]) => ({
      domain,
      recipients: f.recipients,
      delivered: f.delivered,
      bounces: f.softBounces + f.hardBounces,
      softBounces: f.softBounces,
      hardBounces: f.hardBounces,
    }))
    .sort((a, b) => b.recipients - a.recipients || (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
}

/** A4's per-domain cumulative figures over the period, by sending domain, busiest first. */
export async function domainFigures(
  client: QueryClient,
  accountId: string,
  p: { from: number; to: number; timezone?: string },
  domain?: string,
  o?: FigureOptions,
): Promise<DomainFigures[]> {
  const found = await figureGroups(client, accountId, {
    from: p.from,
    split: p.from,
    to: p.to,
    timezone: p.timezone ?? "UTC",
    ...(domain !== undefined ? { domain } : {}),
    ...retained(o),
  });
  return byDomain(found);
}

export interface Dashboard {
  current: Figures;
  previous: Figures;
  series: { bucket: Bucket; points: SeriesPoint[] };
  domains: DomainFigures[];
}

/**
 * Everything A4's dashboard shows but the last activities, in one query over the period and the
 * previous one (the figures of kpis/series/domainFigures above, computed once): the final-status
 * pre-aggregate for whole 15-minute slots, `recipient_final` for the rest (shared/analytics/final-stats.ts).
 */
export async function dashboard(
  client: QueryClient,
  accountId: string,
  p: Period,
  view: SeriesView,
  bucket: Bucket = bucketFor(p),
  o?: FigureOptions,
): Promise<Dashboard> {
  const prev = previousPeriod(p);
  const found = await figureGroups(client, accountId, {
    from: prev.from,
    split: p.from,
    to: p.to,
    timezone: p.timezone,
    bucket,
    ...retained(o),
  });
  return {
    current: sum(found, (r) => Number(r.cur) === 1),
    previous: sum(found, (r) => Number(r.cur) !== 1),
    series: { bucket, points: points(p, bucket, view, byBucket(found)) },
    domains: byDomain(found),
  };
}
