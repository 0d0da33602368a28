/** @jsxImportSource hono/jsx */
/**
 * A4's figures on the Dashboard: the four KPI cards, each with its change against the previous
 * period as an arrow plus words (never colour only), and the per-domain figures table.
 */
import type { Kpi, Stats } from "../types.ts";

export const SERIES = ["recipients", "delivered", "softBounces", "hardBounces"] as const;
export const SERIES_LABELS = ["Recipients", "Delivered", "Soft bounces", "Hard bounces"] as const;

export const num = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });

/** A4's change in words, arrow and sign never by colour only: "▲ 50 % vs previous period". */
export function changeWords(change: number | null): {
  arrow: string;
  words: string;
  dir: "up" | "down" | "flat" | "none";
} {
  if (change === null) return { arrow: "", words: "no previous data", dir: "none" };
  if (change === 0) return { arrow: "=", words: "no change vs previous period", dir: "flat" };
  return {
    arrow: change > 0 ? "▲" : "▼",
    words: `${num(Math.abs(change))} % vs previous period`,
    dir: change > 0 ? "up" : "down",
  };
}

const KPI_CARDS = [
  ["totalRecipients", "Total recipients", false, true],
  ["deliveryRate", "Delivery rate", true, true],
  ["softBounceRate", "Soft bounce rate", true, false],
  ["hardBounceRate", "Hard bounce rate", true, false],
] as const;

export function KpiCards({ stats }: { stats: Stats }) {
  return (
    <section class="cards kpis" aria-label="Key figures">
      {KPI_CARDS.map(([key, label, percent, upIsGood]) => {
        const k: Kpi = stats.kpis[key];
        const c = changeWords(k.change);
        const tone =
          c.dir === "up" || c.dir === "down" ? ((c.dir === "up") === upIsGood ? "good" : "bad") : "neutral";
        return (
          <article class="card kpi" aria-labelledby={`kpi-${key}`} data-kpi={key} data-value={k.value}>
            <p class="kpi-label" id={`kpi-${key}`}>
              {label}
            </p>
            <p class="value">{percent ? `${num(k.value)} %` : num(k.value)}</p>
            <p class={`change change-${tone}`} data-change={k.change === null ? "none" : k.change}>
              {c.arrow ? <span aria-hidden="true">{c.arrow} </span> : null}
              {c.dir === "up" ? (
                <span class="sr-only">Up </span>
              ) : c.dir === "down" ? (
                <span class="sr-only">Down </span>
              ) : null}
              {c.words}
            </p>
          </article>
        );
      })}
    </section>
  );
}

export function DomainFiguresTable({
  stats,
  verified,
}: {
  stats: Stats;
  verified: { domain: string }[] | undefined;
}) {
  // The validated domains (when this member may list them) with their figures, plus any domain
  // that sent in the period (a domain deleted since keeps its history).
  const names = [
    ...new Set([...(verified ?? []).map((d) => d.domain), ...stats.domains.map((d) => d.domain)]),
  ];
  const zero = { recipients: 0, delivered: 0, softBounces: 0, hardBounces: 0 };
  const rows = names.map((domain) => ({
    domain,
    ...zero,
    ...stats.domains.find((d) => d.domain === domain),
  }));
  return (
    <section aria-labelledby="domains-title">
      <h2 id="domains-title">Validated domains</h2>
      {rows.length === 0 ? (
        <p class="empty">
          No validated domain yet. <a href="/domains">Add a sending domain</a>.
        </p>
      ) : (
        <table class="domain-figures">
          <caption>Figures per sending domain over the period</caption>
          <thead>
            <tr>
              <th scope="col">Domain</th>
              {SERIES_LABELS.map((l) => (
                <th scope="col" class="num">
                  {l}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr data-domain={d.domain}>
                <th scope="row">
                  <a href={`/domains/${encodeURIComponent(d.domain)}`}>{d.domain}</a>
                </th>
                {SERIES.map((k) => (
                  <td class="num">{num(d[k])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
