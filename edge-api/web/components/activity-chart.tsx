/** @jsxImportSource hono/jsx */
/**
 * A4's activity chart: recipients, delivered, soft and hard bounces per hour or day, New or
 * Cumulative. The server renders the New series as JSON (#chart-data) and the shown view as a
 * table; assets/dashboard.js draws it with Chart.js and switches views. Without the script the
 * New/Cumulative buttons submit a GET form with the same period.
 */
import type { SeriesPoint, Stats } from "../types.ts";
import { SERIES, SERIES_LABELS } from "./stats-figures.tsx";

/** Cumulative view: the running sum of the New series (A4). */
export function cumulate(points: SeriesPoint[]): SeriesPoint[] {
  const acc = { recipients: 0, delivered: 0, softBounces: 0, hardBounces: 0 };
  return points.map((p) => {
    for (const k of SERIES) acc[k] += p[k];
    return { ...p, ...acc };
  });
}

/** Bucket label in the account's time: the hour for hourly buckets, the day otherwise. */
export function bucketLabel(time: string, bucket: "hour" | "day", many: boolean): string {
  if (bucket === "day") return time.slice(0, 10);
  return many ? `${time.slice(5, 10)} ${time.slice(11, 16)}` : time.slice(11, 16);
}

export interface ChartPeriod {
  preset: string;
  from: string;
  to: string;
  view: "new" | "cumulative";
  /** S14's switch, kept when the view changes. */
  tests?: "include" | "exclude";
}

export function ActivityChart({ stats, sel }: { stats: Stats; sel: ChartPeriod }) {
  const { bucket, points } = stats.series;
  const many = points.length > 25;
  const data = {
    bucket,
    labels: points.map((p) => bucketLabel(p.time, bucket, many)),
    points: points.map((p) => ({
      recipients: p.recipients,
      delivered: p.delivered,
      softBounces: p.softBounces,
      hardBounces: p.hardBounces,
    })),
  };
  const shown = sel.view === "cumulative" ? cumulate(points) : points;
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  return (
    <section class="chart-section" aria-labelledby="chart-title">
      <h2 id="chart-title">Activity</h2>
      <form method="get" action="/" class="view-toggle" aria-label="Chart view">
        {sel.preset === "custom" ? (
          <>
            <input type="hidden" name="period" value="custom" />
            <input type="hidden" name="from" value={sel.from} />
            <input type="hidden" name="to" value={sel.to} />
          </>
        ) : (
          <input type="hidden" name="period" value={sel.preset} />
        )}
        {sel.tests === "include" ? <input type="hidden" name="tests" value="include" /> : null}
        <fieldset class="segmented">
          <legend class="sr-only">Chart view</legend>
          <button type="submit" name="view" value="new" aria-pressed={sel.view === "new" ? "true" : "false"}>
            New
          </button>
          <button
            type="submit"
            name="view"
            value="cumulative"
            aria-pressed={sel.view === "cumulative" ? "true" : "false"}
          >
            Cumulative
          </button>
        </fieldset>
      </form>
      <div class="chart" id="activity-chart" data-view={sel.view} data-bucket={bucket}>
        <canvas
          id="activity-canvas"
          role="img"
          aria-label={`Chart of recipients, delivered, soft bounces and hard bounces per ${bucket}; the table below has the same figures.`}
        />
      </div>
      <script type="application/json" id="chart-data" dangerouslySetInnerHTML={{ __html: json }} />
      <details class="chart-table">
        <summary>Chart data as a table</summary>
        <table id="chart-table">
          <caption>
            Activity per {bucket} (
            <span data-view-words>{sel.view === "cumulative" ? "cumulative" : "new"}</span>)
          </caption>
          <thead>
            <tr>
              <th scope="col">{bucket === "hour" ? "Hour" : "Day"}</th>
              {SERIES_LABELS.map((l) => (
                <th scope="col" class="num">
                  {l}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((p, i) => (
              <tr>
                <th scope="row">{data.labels[i]}</th>
                {SERIES.map((k) => (
                  <td class="num">{p[k]}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </section>
  );
}
