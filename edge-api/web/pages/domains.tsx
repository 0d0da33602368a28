/** @jsxImportSource hono/jsx */
/**
 * Domains (C4, U1, A4): the account's sending domains with their state and figures; "Add a
 * domain" → the domain's page with the three CNAME records to create (DKIM 1, DKIM 2,
 * Return-Path), each with a copy button and its own verification state in words; "Verify now";
 * the domain's figures (soft and hard bounces apart); delete with confirmation.
 */
import { PageApiError } from "../api.ts";
import { ConfirmForm } from "../components/confirm-form.tsx";
import { CopyValue } from "../components/copy-value.tsx";
import { DomainState, domainHint, RECORD_LABELS, RecordState } from "../components/domain-state.tsx";
import { accountTimezone, count, day, dayTime } from "../components/settings-format.ts";
import type { PageHandler } from "../page.ts";
import type { DomainFigures, SendingDomain, Stats } from "../types.ts";

/** The period of the figures on these pages (A4's per-domain cumulative figures). */
const FIGURES_PERIOD = "30d";
const FIGURES_WORDS = "last 30 days";

/**
 * The figures are extra on these pages: refused (no "Access SMTP activities", 403) or not served
 * by this runtime (503), the page still shows the domains, with a sentence instead.
 */
async function figuresOf<T>(read: Promise<T | PageApiError>): Promise<T | PageApiError> {
  try {
    return await read;
  } catch (e) {
    if (e instanceof PageApiError && e.status === 503) return e;
    throw e;
  }
}

/** Why there are no figures, in a sentence. */
export function figuresSentence(e: PageApiError): string {
  if (e.status === 403)
    return `Statistics are shown to members with the “Access SMTP activities” permission (${e.message}).`;
  return `Statistics are not available right now (${e.message}).`;
}

export const domainsPage: PageHandler = async ({ api }) => {
  const [{ domains }, stats, tz] = await Promise.all([
    api.get<{ domains: SendingDomain[] }>("/domains"),
    figuresOf(api.tryGet<Stats>(`/stats?period=${FIGURES_PERIOD}`)),
    accountTimezone(api),
  ]);
  const figures = new Map<string, DomainFigures>();
  if (!(stats instanceof PageApiError)) for (const f of stats.domains) figures.set(f.domain, f);
  const showFigures = !(stats instanceof PageApiError);
  return {
    title: "Domains",
    body: (
      <>
        <p>
          Before sending, authenticate the domain of your sender addresses: Petrel gives you three CNAME
          records to create at your DNS provider (DKIM 1, DKIM 2 and Return-Path), then checks them.
        </p>
        <form
          class="inline add-domain"
          data-api="/v1/domains"
          data-method="POST"
          data-then="goto:/domains/{domain}"
        >
          <label>
            Domain name
            <input name="domain" type="text" placeholder="example.com" autocomplete="off" required />
          </label>
          <button type="submit" class="primary">
            Add a domain
          </button>
          <p class="error" role="alert" data-role="error" />
        </form>
        {domains.length === 0 ? (
          <p class="empty">No sending domain yet.</p>
        ) : (
          <table class="domains">
            <caption>
              Sending domains
              {showFigures ? <span class="muted"> (figures of the {FIGURES_WORDS})</span> : null}
            </caption>
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">State</th>
                <th scope="col">Records verified</th>
                {showFigures ? (
                  <th scope="col" class="num">
                    Recipients
                  </th>
                ) : null}
                {showFigures ? (
                  <th scope="col" class="num">
                    Delivered
                  </th>
                ) : null}
                {showFigures ? (
                  <th scope="col" class="num">
                    Bounces
                  </th>
                ) : null}
                <th scope="col">Added</th>
              </tr>
            </thead>
            <tbody>
              {domains.map((d) => {
                const f = figures.get(d.domain);
                return (
                  <tr data-domain={d.domain}>
                    <th scope="row">
                      <a href={`/domains/${encodeURIComponent(d.domain)}`}>{d.domain}</a>
                    </th>
                    <td>
                      <DomainState d={d} />
                    </td>
                    <td>
                      {d.records.filter((r) => r.status === "verified").length} of {d.records.length}
                    </td>
                    {showFigures ? <td class="num">{count(f?.recipients ?? 0)}</td> : null}
                    {showFigures ? <td class="num">{count(f?.delivered ?? 0)}</td> : null}
                    {showFigures ? <td class="num">{count(f?.bounces ?? 0)}</td> : null}
                    <td>{day(d.addedAt, tz)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {stats instanceof PageApiError ? <p class="muted figures-refused">{figuresSentence(stats)}</p> : null}
      </>
    ),
  };
};

export const domainPage: PageHandler = async ({ api, params }) => {
  const name = params.domain ?? "";
  const path = `/domains/${encodeURIComponent(name)}`;
  const [d, stats, tz] = await Promise.all([
    api.get<SendingDomain>(path),
    figuresOf(api.tryGet<DomainFigures>(`/stats${path}?period=${FIGURES_PERIOD}`)),
    accountTimezone(api),
  ]);
  return {
    title: d.domain,
    body: (
      <>
        <p>
          <a href="/domains">All domains</a>
        </p>
        <section aria-labelledby="state-h" class="domain-state">
          <h2 id="state-h">Authentication</h2>
          <p>
            State: <DomainState d={d} />
            {d.lastCheckAt ? <span class="muted"> · last checked {dayTime(d.lastCheckAt, tz)}</span> : null}
          </p>
          <p class="hint">{domainHint(d)}</p>
        </section>
        <table class="records">
          <caption>DNS records to create at your DNS provider</caption>
          <thead>
            <tr>
              <th scope="col">Record</th>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Value</th>
              <th scope="col">Verification</th>
            </tr>
          </thead>
          <tbody>
            {d.records.map((r) => (
              <tr data-record={r.kind}>
                <th scope="row">{RECORD_LABELS[r.kind]}</th>
                <td>
                  <CopyValue id={`${r.kind}-name`} what={`${RECORD_LABELS[r.kind]} name`} value={r.name} />
                </td>
                <td>{r.type}</td>
                <td>
                  <CopyValue id={`${r.kind}-value`} what={`${RECORD_LABELS[r.kind]} value`} value={r.value} />
                </td>
                <td>
                  <RecordState r={r} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form class="inline verify" data-api={`/v1${path}/verify`} data-method="POST" data-then="reload">
          <button type="submit" class="primary">
            Verify now
          </button>
          <p class="error" role="alert" data-role="error" />
        </form>
        <section aria-labelledby="stats-h">
          <h2 id="stats-h">Statistics ({FIGURES_WORDS})</h2>
          {stats instanceof PageApiError ? (
            <p class="figures-refused">{figuresSentence(stats)}</p>
          ) : (
            <div class="cards domain-figures">
              <Figure label="Recipients" value={stats.recipients} />
              <Figure label="Delivered" value={stats.delivered} />
              <Figure label="Soft bounces" value={stats.softBounces} />
              <Figure label="Hard bounces" value={stats.hardBounces} />
            </div>
          )}
        </section>
        <section aria-labelledby="delete-h" class="danger-zone">
          <h2 id="delete-h">Delete this domain</h2>
          <p>Sending from it stops; history stays.</p>
          <ConfirmForm
            api={`/v1${path}`}
            method="DELETE"
            question={`Delete ${d.domain}? Sending from it stops; its history stays.`}
            label="Delete domain"
            then="goto:/domains"
          />
        </section>
      </>
    ),
  };
};

function Figure({ label, value }: { label: string; value: number }) {
  return (
    <div class="card" data-figure={label}>
      <div class="label">{label}</div>
      <div class="value">{count(value)}</div>
    </div>
  );
}
