/** @jsxImportSource hono/jsx */
/**
 * Dashboard (A4–A7, seed 004), from GET /v1/stats: the period (presets Today, Yesterday, Last 7
 * days — the default —, Last 30 days, or a custom range of calendar days in the account's zone) as
 * GET forms so the URL says it; the four KPIs with their change against the previous period as an
 * arrow plus words; the activity chart (Chart.js, assets/dashboard.js) with its New/Cumulative
 * toggle and the same series as a table; the validated domains with their figures; the last 10
 * activities. A member without "Access SMTP activities" gets the API's 403 (C2).
 */
import { DateTime } from "luxon";
import { PageApiError } from "../api.ts";
import { ActivityChart } from "../components/activity-chart.tsx";
import { ActivityTable } from "../components/activity-table.tsx";
import { DateField } from "../components/date-field.tsx";
import { DomainFiguresTable, FiguresNotes, KpiCards } from "../components/stats-figures.tsx";
import type { PageHandler } from "../page.ts";
import type { Account, Stats } from "../types.ts";
import { dayStart } from "./activity.tsx";

export const PRESETS = [
  ["today", "Today"],
  ["yesterday", "Yesterday"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
] as const;
type Preset = (typeof PRESETS)[number][0];
type View = "new" | "cumulative";

interface Selection {
  preset: Preset | "custom";
  from: string;
  to: string;
  view: View;
  /** S14: test recipients counted (`?tests=include`) or left out (default). */
  tests: "include" | "exclude";
  /** The /v1/stats query, or an error sentence for a bad custom range. */
  query: string | { error: string };
}

export function readSelection(url: URL, timezone: string): Selection {
  const q = url.searchParams;
  const view: View = q.get("view") === "cumulative" ? "cumulative" : "new";
  const period = q.get("period") ?? "7d";
  const from = q.get("from") ?? "";
  const to = q.get("to") ?? "";
  const tests = q.get("tests") === "include" ? "include" : "exclude";
  if (period === "custom") {
    const a = dayStart(from, timezone);
    const b = dayStart(to, timezone, true);
    if (a === undefined || b === undefined)
      return {
        preset: "custom",
        from,
        to,
        view,
        tests,
        query: { error: "Choose both dates of the custom range." },
      };
    return { preset: "custom", from, to, view, tests, query: `from=${a}&to=${b}&view=new&tests=${tests}` };
  }
  const preset = (PRESETS.find(([p]) => p === period)?.[0] ?? "7d") as Preset;
  return { preset, from, to, view, tests, query: `period=${preset}&view=new&tests=${tests}` };
}

/** This page with the test-recipients switch flipped (the other parameters kept). */
export function testsToggleHref(url: URL, sel: Selection): string {
  const q = new URLSearchParams(url.searchParams);
  if (sel.tests === "include") q.delete("tests");
  else q.set("tests", "include");
  const s = q.toString();
  return s ? `/?${s}` : "/";
}

function periodWords(s: Stats, sel: Selection): string {
  const { from: a, to: b } = withDates({ ...sel, from: "", to: "" }, s);
  const name = sel.preset === "custom" ? "Custom range" : PRESETS.find(([p]) => p === sel.preset)![1];
  return a === b ? `${name}: ${a}` : `${name}: ${a} to ${b}`;
}

/** The custom range inputs show the period on screen when none was typed. */
function withDates(sel: Selection, s: Stats): Selection {
  if (sel.from && sel.to) return sel;
  const tz = s.period.timezone;
  const from = DateTime.fromISO(s.period.from).setZone(tz).toISODate() ?? "";
  const to = DateTime.fromISO(s.period.to).minus({ milliseconds: 1 }).setZone(tz).toISODate() ?? "";
  return { ...sel, from, to };
}

export const dashboardPage: PageHandler = async ({ api, url }) => {
  const account = await api.get<Account>("/account");
  const sel = readSelection(url, account.timezone);
  let stats: Stats | undefined;
  let error = typeof sel.query === "string" ? "" : sel.query.error;
  if (typeof sel.query === "string") {
    const r = await api.tryGet<Stats>(`/stats?${sel.query}`);
    if (r instanceof PageApiError) {
      if (r.status !== 400) throw r;
      error = r.message;
    } else stats = r;
  }
  const domains = await api.tryGet<{ domains: { domain: string; status: string }[] }>("/domains");
  const verified =
    domains instanceof PageApiError ? undefined : domains.domains.filter((d) => d.status === "verified");

  const body = (
    <>
      <PeriodPicker sel={stats ? withDates(sel, stats) : sel} />
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {stats ? (
        <>
          <p class="period-words" data-from={stats.period.from} data-to={stats.period.to}>
            {periodWords(stats, sel)} <span class="muted">({stats.period.timezone})</span>
          </p>
          <KpiCards stats={stats} />
          <FiguresNotes stats={stats} testsHref={testsToggleHref(url, sel)} />
          <ActivityChart stats={stats} sel={sel} />
          <DomainFiguresTable stats={stats} verified={verified} />
          <h2 id="recent-title">Last 10 activities</h2>
          {stats.recent.length === 0 ? (
            <p class="empty">
              No activity in the last 30 days. Send through one of your SMTP users (see Users): each recipient
              shows here within seconds.
            </p>
          ) : (
            <div class="table-wrap">
              <ActivityTable
                rows={stats.recent}
                caption="Last 10 activities"
                timezone={stats.period.timezone}
                compact
                idPrefix="recent"
              />
            </div>
          )}
          <p>
            <a href="/activity">See all activity</a>
          </p>
        </>
      ) : null}
    </>
  );
  return { title: "Dashboard", body, scripts: ["vendor/chart.umd.js", "dashboard.js", "activity.js"] };
};

function PeriodPicker({ sel }: { sel: Selection }) {
  return (
    <section class="period" aria-label="Period">
      <form method="get" action="/" class="presets">
        <input type="hidden" name="view" value={sel.view} data-view-input />
        <TestsInput sel={sel} />
        <fieldset class="segmented">
          <legend class="period-label">Period</legend>
          {PRESETS.map(([p, label]) => (
            <button
              type="submit"
              name="period"
              value={p}
              aria-current={sel.preset === p ? "true" : undefined}
            >
              {label}
            </button>
          ))}
        </fieldset>
      </form>
      <form method="get" action="/" class="inline custom-range" aria-label="Custom range">
        <input type="hidden" name="period" value="custom" />
        <input type="hidden" name="view" value={sel.view} data-view-input />
        <TestsInput sel={sel} />
        <DateField label="From" name="from" value={sel.from} required />
        <DateField label="To" name="to" value={sel.to} required />
        <button type="submit" aria-current={sel.preset === "custom" ? "true" : undefined}>
          Apply range
        </button>
      </form>
    </section>
  );
}

/** The test-recipients switch travels with the period forms. */
function TestsInput({ sel }: { sel: Selection }) {
  return sel.tests === "include" ? <input type="hidden" name="tests" value="include" /> : null;
}
