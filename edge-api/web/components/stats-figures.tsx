/** @jsxImportSource hono/jsx */
/**
 * A4's figures on the Dashboard: the four KPI cards, each with its change against the previous
 * period as an arrow plus words (never colour only); the recipients in flight apart from the rates
 * and the test recipients left out, with the switch to count them (A5, S14; docs/statistics.md);
 * the per-domain figures table of the account's verified domains.
 */
import type { Kpi, Stats } from "../types.ts";

export const SERIES = ["recipients", "delivered", "softBounces", "hardBounces"] as const;
export const SERIES_LABELS = ["Recipients", "Delivered", "Soft bounces", "Hard bounces"] as const;

export const num = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });
/** A5: a rate without data (no recipient with a final status) is "—", never "0 %". */
export const NO_DATA = "—";
const percent = (n: number | null) => (n === null ? NO_DATA : `${num(n)} %`);
const plural = (n: number, one: string, many: string) => `${num(n)} ${n === 1 ? one : many}`;

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
      {KPI_CARDS.map(([key, label, isRate, upIsGood]) => {
        const k: Kpi = stats.kpis[key];
        const noData = k.value === null;
        const c = changeWords(k.change);
        const tone =
          c.dir === "up" || c.dir === "down" ? ((c.dir === "up") === upIsGood ? "good" : "bad") : "neutral";
        return (
          <article
            class="card kpi"
            aria-labelledby={`kpi-${key}`}
            data-kpi={key}
            data-value={noData ? "none" : k.value}
          >
            <p class="kpi-label" id={`kpi-${key}`}>
              {label}
            </p>
            <p class="value" title={noData ? "No recipient of the period has a final status yet" : undefined}>
              {isRate ? percent(k.value) : num(k.value ?? 0)}
            </p>
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

/**
 * A5: what the rates leave out, said beside them — the recipients still in flight, and the test
 * recipients with the link that counts them (or leaves them out again). `testsHref`: this page
 * with the switch flipped.
 */
export function FiguresNotes({ stats, testsHref }: { stats: Stats; testsHref: string }) {
  const t = stats.testRecipients;
  return (
    <div class="figures-notes">
      <p class="muted in-flight" data-in-flight={stats.inFlight}>
        {plural(stats.inFlight, "recipient", "recipients")} in flight (no final status yet) — not in the
        rates, which are over delivered and bounced recipients.
      </p>
      {t.count > 0 || t.included ? (
        <p class="note test-recipients" data-test-recipients={t.count} data-included={String(t.included)}>
          {t.included ? (
            <>
              {plural(t.count, "test recipient", "test recipients")} counted —{" "}
              <a href={testsHref}>leave them out</a>
            </>
          ) : (
            <>
              {plural(t.count, "test recipient", "test recipients")} not counted —{" "}
              <a href={testsHref}>show them</a>
            </>
          )}
        </p>
      ) : null}
    </div>
  );
}

export function DomainFiguresTable({
  stats,
  verified,
}: {
  stats: Stats;
  /** The account's verified domains; undefined when this member may not list domains. */
  verified: { domain: string }[] | undefined;
}) {
  // Only the account's verified domains, each with its figures (none in the period: zeros); never a
  // domain that only appears in the figures (a refused sender's domain, an unverified or deleted one).
  const zero = { recipients: 0, delivered: 0, softBounces: 0, hardBounces: 0 };
  const rows = (verified ?? []).map(({ domain }) => ({
    domain,
    ...zero,
    ...stats.domains.find((d) => d.domain === domain),
  }));
  return (
    <section aria-labelledby="domains-title">
      <h2 id="domains-title">Validated domains</h2>
      {verified === undefined ? (
        <p class="empty">Your role does not include the account's domains.</p>
      ) : rows.length === 0 ? (
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
