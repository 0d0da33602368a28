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
import { type QueryClient, rows } from "./client.ts";
import { type Bucket, bucketFor, bucketStarts, localIso, type Period, previousPeriod } from "./period.ts";

export interface Figures {
  recipients: number;
  delivered: number;
  softBounces: number;
  hardBounces: number;
  rejected: number;
}

const ZERO: Figures = { recipients: 0, delivered: 0, softBounces: 0, hardBounces: 0, rejected: 0 };

/** Recipients of one account with their final status, first event in [from, to), sandbox left out. */
function finalRecipients(extraWhere = ""): string {
  return `SELECT recipient_id, min(first_ts) AS first, argMaxMerge(status) AS final_status,
    any(sending_domain) AS domain, max(is_test) AS test
  FROM recipient_final
  WHERE account_id = {account:String} AND last_ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') ${extraWhere}
  GROUP BY recipient_id
  HAVING first >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND first < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
    AND test = 0`;
}

const FIGURE_COLUMNS = `countIf(final_status != 'Rejected') AS recipients,
    countIf(final_status = 'Delivered') AS delivered,
    countIf(final_status = 'SoftBounce') AS soft,
    countIf(final_status = 'HardBounce') AS hard,
    countIf(final_status = 'Rejected') AS rejected`;

interface FigureRow {
  recipients: string;
  delivered: string;
  soft: string;
  hard: string;
  rejected: string;
}
const figures = (r: FigureRow | undefined): Figures =>
  r
    ? {
        recipients: Number(r.recipients),
        delivered: Number(r.delivered),
        softBounces: Number(r.soft),
        hardBounces: Number(r.hard),
        rejected: Number(r.rejected),
      }
    : { ...ZERO };

const window = (accountId: string, p: { from: number; to: number }) => ({
  account: accountId,
  from: p.from,
  to: p.to,
});

/** A5/A6 figures of one period. */
export async function periodFigures(
  client: QueryClient,
  accountId: string,
  p: { from: number; to: number },
): Promise<Figures> {
  const [r] = await rows<FigureRow>(
    client,
    `SELECT ${FIGURE_COLUMNS} FROM (${finalRecipients()})`,
    window(accountId, p),
  );
  return figures(r);
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
export async function kpis(client: QueryClient, accountId: string, p: Period): Promise<Kpis> {
  const prev = previousPeriod(p);
  const [cur, before] = await Promise.all([
    periodFigures(client, accountId, p),
    periodFigures(client, accountId, prev),
  ]);
  return kpisOf(cur, before);
}

export interface SeriesPoint extends Figures {
  /** Bucket start, ms since the epoch, and the same in the account's zone. */
  ts: number;
  time: string;
}
export type SeriesView = "new" | "cumulative";

/** A4's time series: one point per bucket (hour up to 2 days, else day, in the account zone). */
export async function series(
  client: QueryClient,
  accountId: string,
  p: Period,
  view: SeriesView,
  bucket: Bucket = bucketFor(p),
): Promise<{ bucket: Bucket; points: SeriesPoint[] }> {
  const fn = bucket === "hour" ? "toStartOfHour" : "toStartOfDay";
  const found = await rows<FigureRow & { b: number | string }>(
    client,
    `SELECT toUnixTimestamp(${fn}(toDateTime(first, 'UTC'), {tz:String})) AS b, ${FIGURE_COLUMNS}
     FROM (${finalRecipients()}) GROUP BY b ORDER BY b`,
    { ...window(accountId, p), tz: p.timezone },
  );
  const byStart = new Map(found.map((r) => [Number(r.b) * 1000, figures(r)]));
  const acc: Figures = { ...ZERO };
  const points = bucketStarts(p, bucket).map((ts) => {
    const f = byStart.get(ts) ?? { ...ZERO };
    if (view === "cumulative") {
      for (const k of Object.keys(acc) as (keyof Figures)[]) acc[k] += f[k];
      return { ts, time: localIso(ts, p.timezone), ...acc };
    }
    return { ts, time: localIso(ts, p.timezone), ...f };
  });
  return { bucket, points };
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

/** A4's per-domain cumulative figures over the period, by sending domain, busiest first. */
export async function domainFigures(
  client: QueryClient,
  accountId: string,
  p: { from: number; to: number },
  domain?: string,
): Promise<DomainFigures[]> {
  const found = await rows<FigureRow & { domain: string }>(
    client,
    `SELECT domain, ${FIGURE_COLUMNS} FROM (${finalRecipients(domain !== undefined ? "AND sending_domain = {domain:String}" : "")})
     ${domain !== undefined ? "WHERE domain = {domain:String}" : ""}
     GROUP BY domain ORDER BY recipients DESC, domain`,
    { ...window(accountId, p), ...(domain !== undefined ? { domain } : {}) },
  );
  return found.map((r) => {
    const f = figures(r);
    return {
      domain: r.domain,
      recipients: f.recipients,
      delivered: f.delivered,
      bounces: f.softBounces + f.hardBounces,
      softBounces: f.softBounces,
      hardBounces: f.hardBounces,
    };
  });
}

export interface Dashboard {
  current: Figures;
  previous: Figures;
  series: { bucket: Bucket; points: SeriesPoint[] };
  domains: DomainFigures[];
}

/**
 * Everything A4's dashboard shows but the last activities, in one pass over the account's recipients
 * of the period and the previous one (the figures of kpis/series/domainFigures above, computed once).
 */
export async function dashboard(
  client: QueryClient,
  accountId: string,
  p: Period,
  view: SeriesView,
  bucket: Bucket = bucketFor(p),
): Promise<Dashboard> {
  const prev = previousPeriod(p);
  const fn = bucket === "hour" ? "toStartOfHour" : "toStartOfDay";
  const found = await rows<FigureRow & { cur: number | string; b: number | string; d: string }>(
    client,
    `SELECT first >= fromUnixTimestamp64Milli({cur:Int64}, 'UTC') AS cur,
       if(cur, toUnixTimestamp(${fn}(toDateTime(first, 'UTC'), {tz:String})), 0) AS b,
       if(cur, domain, '') AS d,
       ${FIGURE_COLUMNS}
     FROM (${finalRecipients()})
     GROUP BY cur, b, d
     SETTINGS optimize_aggregation_in_order = 1`,
    { ...window(accountId, { from: prev.from, to: p.to }), cur: p.from, tz: p.timezone },
  );
  const add = (a: Figures, f: Figures) => {
    for (const k of Object.keys(a) as (keyof Figures)[]) a[k] += f[k];
  };
  const current = { ...ZERO };
  const previous = { ...ZERO };
  const byStart = new Map<number, Figures>();
  const byDomain = new Map<string, Figures>();
  for (const r of found) {
    const f = figures(r);
    if (Number(r.cur) !== 1) {
      add(previous, f);
      continue;
    }
    add(current, f);
    const ts = Number(r.b) * 1000;
    add(byStart.get(ts) ?? byStart.set(ts, { ...ZERO }).get(ts)!, f);
    add(byDomain.get(r.d) ?? byDomain.set(r.d, { ...ZERO }).get(r.d)!, f);
  }
  const acc: Figures = { ...ZERO };
  const points = bucketStarts(p, bucket).map((ts) => {
    const f = byStart.get(ts) ?? { ...ZERO };
    if (view === "cumulative") {
      add(acc, f);
      return { ts, time: localIso(ts, p.timezone), ...acc };
    }
    return { ts, time: localIso(ts, p.timezone), ...f };
  });
  const domains = [...byDomain.entries()]
    .map(([domain, f]) => ({
      domain,
      recipients: f.recipients,
      delivered: f.delivered,
      bounces: f.softBounces + f.hardBounces,
      softBounces: f.softBounces,
      hardBounces: f.hardBounces,
    }))
    .sort((a, b) => b.recipients - a.recipients || (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  return { current, previous, series: { bucket, points }, domains };
}
