/**
 * The analytics queries (A3–A6) as small named functions with parameters. Every one takes the
 * account id and filters `account_id = {account}` first (the leading column of every sort key):
 * no query can return another account's rows (tests/analytics/isolation.test.ts).
 *
 * Definitions (A4/A5, per recipient by final status, A6; docs/statistics.md):
 * - a recipient belongs to the period holding its first event (its acceptance or refusal);
 * - test (sandbox) recipients are left out of the figures by default and counted apart
 *   (`testRecipients`); `includeTests` counts them like the others (S14);
 * - `recipients` = recipients accepted (final status other than Rejected); `rejected` apart;
 * - delivered / soft / hard = recipients whose final status is Delivered / SoftBounce / HardBounce,
 *   so a Delivered that later bounced counts as a bounce;
 * - `inFlight` = accepted recipients without a final status yet (Accepted, Pending, Deferred);
 * - rates = count / (delivered + soft + hard), the recipients with a final status, in percent with
 *   two decimals; null ("—") when no recipient of the period has a final status.
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
  inFlight: number;
  /** Accepted test recipients of the period: in the figures above only with `includeTests`. */
  testRecipients: number;
}

const ZERO: Figures = {
  recipients: 0,
  delivered: 0,
  softBounces: 0,
  hardBounces: 0,
  rejected: 0,
  inFlight: 0,
  testRecipients: 0,
};

/** A row's figures: test rows count in `testRecipients`, and in the rest only when included. */
const figures = (r: FigureGroupRow, includeTests: boolean): Figures => {
  const test = Number(r.t) === 1;
  if (test && !includeTests) return { ...ZERO, testRecipients: Number(r.recipients) };
  return {
    recipients: Number(r.recipients),
    delivered: Number(r.delivered),
    softBounces: Number(r.soft),
    hardBounces: Number(r.hard),
    rejected: Number(r.rejected),
    inFlight: Number(r.inflight),
    testRecipients: test ? Number(r.recipients) : 0,
  };
};
const add = (a: Figures, f: Figures) => {
  for (const k of Object.keys(a) as (keyof Figures)[]) a[k] += f[k];
};
const sum = (
  found: FigureGroupRow[],
  includeTests: boolean,
  keep: (r: FigureGroupRow) => boolean = () => true,
): Figures => {
  const acc = { ...ZERO };
  for (const r of found) if (keep(r)) add(acc, figures(r, includeTests));
  return acc;
};

/** Options of the figure queries: `retainedFrom` = start of the retained data (see final-stats.ts). */
export interface FigureOptions {
  retainedFrom?: number;
  /** Skip the pre-aggregate (the reference path; tests and the benchmark compare the two). */
  raw?: boolean;
  /** Count test (sandbox) recipients like the others (default: counted apart only). */
  includeTests?: boolean;
}
const incl = (o?: FigureOptions) => o?.includeTests === true;
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
  return sum(found, incl(o));
}

export interface Kpi<V extends number | null = number | null> {
  /** A rate is null when no recipient of the period has a final status (shown "—", never 0 %). */
  value: V;
  previous: V;
  /** Relative change in percent, two decimals; null when either value is null or the previous is 0. */
  change: number | null;
}
export interface Kpis {
  totalRecipients: Kpi<number>;
  deliveryRate: Kpi;
  softBounceRate: Kpi;
  hardBounceRate: Kpi;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
/** A5: n over `of` recipients with a final status, in percent; null when there is none. */
export const rate = (n: number, of: number): number | null => (of > 0 ? round2((n * 100) / of) : null);
/** A5: the recipients with a final status, the base of every rate (in flight and rejected left out). */
export const withFinalStatus = (f: Figures): number => f.delivered + f.softBounces + f.hardBounces;
/** A4's change: (current − previous) / previous, in percent; previous 0 or no data → null, never Infinity. */
export function change(current: number | null, previous: number | null): number | null {
  return current === null || previous === null || previous === 0
    ? null
    : round2(((current - previous) * 100) / previous);
}
function kpi<V extends number | null>(value: V, previous: V): Kpi<V> {
  return { value, previous, change: change(value, previous) };
}

export function kpisOf(cur: Figures, prev: Figures): Kpis {
  const r = (f: Figures, k: "delivered" | "softBounces" | "hardBounces") => rate(f[k], withFinalStatus(f));
  return {
    totalRecipients: kpi(cur.recipients, prev.recipients),
    deliveryRate: kpi(r(cur, "delivered"), r(prev, "delivered")),
    softBounceRate: kpi(r(cur, "softBounces"), r(prev, "softBounces")),
    hardBounceRate: kpi(r(cur, "hardBounces"), r(prev, "hardBounces")),
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
  return { bucket, points: points(p, bucket, view, byBucket(found, incl(o))) };
}

function byBucket(found: FigureGroupRow[], includeTests: boolean): Map<number, Figures> {
  const m = new Map<number, Figures>();
  for (const r of found) {
    if (Number(r.cur) !== 1) continue;
    const ts = Number(r.b) * 1000;
    add(m.get(ts) ?? m.set(ts, { ...ZERO }).get(ts)!, figures(r, includeTests));
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

function byDomain(found: FigureGroupRow[], includeTests: boolean): DomainFigures[] {
  const m = new Map<string, Figures>();
  for (const r of found) {
    if (Number(r.cur) !== 1 || (Number(r.t) === 1 && !includeTests)) continue;
    add(m.get(r.d) ?? m.set(r.d, { ...ZERO }).get(r.d)!, figures(r, includeTests));
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
  return byDomain(found, incl(o));
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
  const tests = incl(o);
  return {
    current: sum(found, tests, (r) => Number(r.cur) === 1),
    previous: sum(found, tests, (r) => Number(r.cur) !== 1),
    series: { bucket, points: points(p, bucket, view, byBucket(found, tests)) },
    domains: byDomain(found, tests),
  };
}
