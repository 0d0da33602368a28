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
import {
  DomainState,
  domainHint,
  RECORD_LABELS,
  RecordState,
  recordCheck,
  recordsLine,
} from "../components/domain-state.tsx";
import { accountTimezone, count, day, dayTime } from "../components/settings-format.ts";
import { noticeHref } from "../notices.ts";
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
    return "Statistics are shown to members with the “Access SMTP activities” permission; an administrator of the account can grant it on the Team page.";
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
          <p class="empty">
            No sending domain yet. Add the domain of your sender addresses above: Petrel gives you the three
            DNS records to create, then checks them.
          </p>
        ) : (
          <div class="table-wrap cards-on-phone">
            <table class="domains">
              <caption>
                Sending domains
                {showFigures ? <span class="muted"> (figures of the {FIGURES_WORDS})</span> : null}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Domain</th>
                  <th scope="col">State</th>
                  <th scope="col">DNS records</th>
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
                        <a href={`/domains/${encodeURIComponent(d.domain)}`} class="addr" title={d.domain}>
                          {d.domain}
                        </a>
                      </th>
                      <td data-label="State">
                        <DomainState d={d} />
                      </td>
                      <td data-label="DNS records">{recordsLine(d)}</td>
                      {showFigures ? (
                        <td class="num" data-label="Recipients">
                          {count(f?.recipients ?? 0)}
                        </td>
                      ) : null}
                      {showFigures ? (
                        <td class="num" data-label="Delivered">
                          {count(f?.delivered ?? 0)}
                        </td>
                      ) : null}
                      {showFigures ? (
                        <td class="num" data-label="Bounces">
                          {count(f?.bounces ?? 0)}
                        </td>
                      ) : null}
                      <td data-label="Added">{day(d.addedAt, tz)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {stats instanceof PageApiError ? <p class="muted figures-refused">{figuresSentence(stats)}</p> : null}
      </>
    ),
  };
};

export const domainPage: PageHandler = async ({ api, params }) => {
  const path = `/domains/${encodeURIComponent(params.domain ?? "")}`;
  const [d, stats, tz] = await Promise.all([
    api.get<SendingDomain>(path),
    figuresOf(api.tryGet<DomainFigures>(`/stats${path}?period=${FIGURES_PERIOD}`)),
    accountTimezone(api),
  ]);
  return { title: d.domain, body: <DomainBody d={d} stats={stats} tz={tz} /> };
};

/**
 * "Verify now" (a plain form POST, no script needed): the verify API's own answer — each record
 * as DNS answered it just now, also when the resolvers failed and nothing was recorded — shown
 * in the domain's page.
 */
export const verifyDomainPage: PageHandler = async ({ api, params }) => {
  const path = `/domains/${encodeURIComponent(params.domain ?? "")}`;
  const [d, stats, tz] = await Promise.all([
    api.post<SendingDomain>(`${path}/verify`, {}),
    figuresOf(api.tryGet<DomainFigures>(`/stats${path}?period=${FIGURES_PERIOD}`)),
    accountTimezone(api),
  ]);
  return { title: d.domain, body: <DomainBody d={d} stats={stats} tz={tz} justChecked /> };
};

function DomainBody(p: {
  d: SendingDomain;
  stats: DomainFigures | PageApiError;
  tz: string;
  justChecked?: boolean;
}) {
  const { d, stats, tz } = p;
  const path = `/domains/${encodeURIComponent(d.domain)}`;
  const checks = d.records.map((r) => ({ r, check: recordCheck(r, d.trusted) }));
  const at = Math.max(0, ...checks.map((c) => c.check.checkedAt ?? 0));
  return (
    <>
      <p>
        <a href="/domains">All domains</a>
      </p>
      {p.justChecked ? (
        <p class="notice notice-done" role="status" data-checked>
          Checked {at ? dayTime(at, tz) : "just now"}:{" "}
          {checks.some((c) => c.check.word === "No answer")
            ? "the DNS servers did not answer, so nothing changed (see each record)."
            : `${recordsLine(d)}.`}
        </p>
      ) : null}
      <section aria-labelledby="state-h" class="domain-state">
        <h2 id="state-h">Authentication</h2>
        <p>
          <DomainState d={d} /> <span class="records-line">DNS records: {recordsLine(d)}</span>
          {d.lastCheckAt ? <span class="muted"> · last checked {dayTime(d.lastCheckAt, tz)}</span> : null}
        </p>
        <p class="hint">{domainHint(d)}</p>
      </section>
      <div class="table-wrap cards-on-phone">
        <table class="records">
          <caption>DNS records to create at your DNS provider</caption>
          <thead>
            <tr>
              <th scope="col">Record</th>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Expected value</th>
              <th scope="col">Last check</th>
            </tr>
          </thead>
          <tbody>
            {checks.map(({ r, check }) => (
              <tr data-record={r.kind}>
                <th scope="row">{RECORD_LABELS[r.kind]}</th>
                <td data-label="Name">
                  <CopyValue id={`${r.kind}-name`} what={`${RECORD_LABELS[r.kind]} name`} value={r.name} />
                </td>
                <td data-label="Type">{r.type}</td>
                <td data-label="Expected value">
                  <CopyValue id={`${r.kind}-value`} what={`${RECORD_LABELS[r.kind]} value`} value={r.value} />
                </td>
                <td data-label="Last check" class="check">
                  <RecordState check={check} />
                  <dl class="check-facts">
                    <dt>DNS answered</dt>
                    <dd data-answer>{check.answer}</dd>
                    {check.error ? (
                      <>
                        <dt>Error</dt>
                        <dd data-error>{check.error}</dd>
                      </>
                    ) : null}
                    <dt>Checked</dt>
                    <dd data-checked-at={check.checkedAt}>
                      {check.checkedAt !== undefined ? dayTime(check.checkedAt, tz) : "never"}
                    </dd>
                  </dl>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="inline verify" method="post" action={`${path}/verify`}>
        <button type="submit" class="primary">
          Verify now
        </button>
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
          then={`goto:${noticeHref("/domains", "domain-deleted", d.domain)}`}
        />
      </section>
    </>
  );
}

function Figure({ label, value }: { label: string; value: number }) {
  return (
    <div class="card" data-figure={label}>
      <div class="label">{label}</div>
      <div class="value">{count(value)}</div>
    </div>
  );
}
