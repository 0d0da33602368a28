/** @jsxImportSource hono/jsx */
/**
 * Activity (A1–A3, seeds 002/003), newest first, from GET /v1/activity. Two views, switched by links
 * that keep the filters: one row per recipient with its current status (the default; a bounce that
 * followed Delivered is a row of its own), whose "More" opens the recipient's whole timeline (GET
 * /v1/activity/{recipientId}, loaded by assets/activity.js), or every status change. A GET form holds the date selector (from/to, calendar days of the account's time
 * zone, the last 30 days by default — A2) and the advanced search (recipient, sender, subject,
 * statuses, message id — A3), so the URL says what is shown; "Older" pages on with the API's
 * cursor and keeps the filters; the CSV export link carries the same filters. A member without
 * "Access SMTP activities" gets the API's 403, which the frame shows as a refusal (C2).
 */
import { DateTime } from "luxon";
import { RECIPIENT_STATUSES } from "../../../shared/model/status.ts";
import { PageApiError } from "../api.ts";
import { ActivityTable } from "../components/activity-table.tsx";
import { DateField } from "../components/date-field.tsx";
import { statusLabel } from "../components/status-label.tsx";
import type { PageHandler } from "../page.ts";
import type { Account, ActivityPage } from "../types.ts";

type View = "recipients" | "events";

const PAGE_SIZES = [10, 25, 50, 100] as const;
const DEFAULT_PAGE_SIZE = 50;
const TEXT_FILTERS = ["recipient", "sender", "subject", "messageId"] as const;

export interface ActivityForm {
  /** One row per recipient (default) or per status event. */
  view: View;
  from: string;
  to: string;
  recipient: string;
  sender: string;
  subject: string;
  messageId: string;
  status: string[];
  cursor: string;
  /** Rows per page (one of PAGE_SIZES). */
  limit: number;
}

/** The page's own query string (dates as YYYY-MM-DD) → the form's values. */
export function readForm(url: URL): ActivityForm {
  const q = url.searchParams;
  const text = (k: string) => (q.get(k) ?? "").trim();
  const known = new Set<string>(RECIPIENT_STATUSES);
  return {
    view: q.get("view") === "events" ? "events" : "recipients",
    from: text("from"),
    to: text("to"),
    recipient: text("recipient"),
    sender: text("sender"),
    subject: text("subject"),
    messageId: text("messageId"),
    status: q.getAll("status").filter((s) => known.has(s)),
    cursor: text("cursor"),
    limit: PAGE_SIZES.find((n) => String(n) === q.get("limit")) ?? DEFAULT_PAGE_SIZE,
  };
}

/** A calendar day of the zone → its first instant; `end` → the first instant of the next day. */
export function dayStart(day: string, timezone: string, end = false): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const d = DateTime.fromISO(day, { zone: timezone });
  if (!d.isValid) return undefined;
  return (end ? d.plus({ days: 1 }) : d).startOf("day").toMillis();
}

/** The /v1/activity query of the form (without cursor/limit): instants in ms. */
export function apiFilters(f: ActivityForm, timezone: string): URLSearchParams {
  const q = new URLSearchParams({ view: f.view });
  const from = f.from ? dayStart(f.from, timezone) : undefined;
  const to = f.to ? dayStart(f.to, timezone, true) : undefined;
  if (from !== undefined) q.set("from", String(from));
  if (to !== undefined) q.set("to", String(to));
  for (const k of TEXT_FILTERS) if (f[k]) q.set(k, f[k]);
  if (f.status.length > 0) q.set("status", f.status.join(","));
  return q;
}

/** The page's query string of the form, for links (Older keeps every filter). */
function pageQuery(f: ActivityForm, cursor?: string): string {
  const q = new URLSearchParams();
  if (f.view === "events") q.set("view", "events");
  if (f.from) q.set("from", f.from);
  if (f.to) q.set("to", f.to);
  for (const k of TEXT_FILTERS) if (f[k]) q.set(k, f[k]);
  for (const s of f.status) q.append("status", s);
  if (f.limit !== DEFAULT_PAGE_SIZE) q.set("limit", String(f.limit));
  if (cursor) q.set("cursor", cursor);
  return q.toString();
}

export const activityPage: PageHandler = async ({ api, url }) => {
  const account = await api.get<Account>("/account");
  const tz = account.timezone;
  const form = readForm(url);
  const filters = apiFilters(form, tz);
  const query = new URLSearchParams(filters);
  query.set("limit", String(form.limit));
  if (form.cursor) query.set("cursor", form.cursor);
  // A date that is not YYYY-MM-DD is said, not silently dropped from the search.
  const badDate = (["from", "to"] as const).find((k) => form[k] && dayStart(form[k], tz) === undefined);
  const answer = badDate
    ? new PageApiError(
        400,
        "invalid_request",
        `${badDate === "from" ? "From" : "To"}: “${form[badDate]}” is not a date; use YYYY-MM-DD, e.g. 2026-11-22.`,
      )
    : await api.tryGet<ActivityPage>(`/activity?${query}`);
  if (answer instanceof PageApiError && answer.status !== 400) throw answer;

  // A2: the date selector shows the default window (the last 30 days) when none was chosen.
  const today = DateTime.now().setZone(tz);
  const shownFrom = form.from || today.minus({ days: 30 }).toISODate()!;
  const shownTo = form.to || today.toISODate()!;
  const advanced = TEXT_FILTERS.some((k) => form[k] !== "") || form.status.length > 0;
  const exportHref = `/v1/activity/export?${filters}`;
  const viewHref = (view: View) => `/activity?${pageQuery({ ...form, view })}`;

  const body = (
    <>
      <nav class="view-switch" aria-label="Activity view">
        <a href={viewHref("recipients")} aria-current={form.view === "recipients" ? "page" : undefined}>
          By recipient
        </a>
        <a href={viewHref("events")} aria-current={form.view === "events" ? "page" : undefined}>
          Every status change
        </a>
      </nav>
      <p class="muted">
        {form.view === "recipients"
          ? "One row per recipient with its current status, newest first; a bounce that follows Delivered is a row of its own. Open “More” on a row for its whole timeline."
          : "One row per status change, newest first."}{" "}
        Hover or focus a Rejected, Deferred, Soft bounce or Hard bounce label to read its reason.
      </p>
      <form class="activity-filters" method="get" action="/activity" aria-label="Filter activity">
        {form.view === "events" ? <input type="hidden" name="view" value="events" /> : null}
        <fieldset class="dates">
          <legend>Period</legend>
          <DateField label="From" name="from" value={shownFrom} />
          <DateField label="To" name="to" value={shownTo} />
        </fieldset>
        <details class="advanced" open={advanced}>
          <summary>Advanced search</summary>
          <div class="advanced-fields">
            <label>
              Recipient
              <input type="email" name="recipient" value={form.recipient} autocomplete="off" />
            </label>
            <label>
              Sender
              <input type="email" name="sender" value={form.sender} autocomplete="off" />
            </label>
            <label>
              Subject contains
              <input type="text" name="subject" value={form.subject} autocomplete="off" />
            </label>
            <label>
              Message id
              <input type="text" name="messageId" value={form.messageId} autocomplete="off" />
            </label>
            <fieldset class="statuses">
              <legend>Status</legend>
              {RECIPIENT_STATUSES.map((s) => (
                <label class="check">
                  <input type="checkbox" name="status" value={s} checked={form.status.includes(s)} />{" "}
                  {statusLabel(s)}
                </label>
              ))}
            </fieldset>
          </div>
        </details>
        <p class="actions">
          <label class="per-page">
            Rows per page{" "}
            <select name="limit" class="select-compact">
              {PAGE_SIZES.map((n) => (
                <option value={String(n)} selected={n === form.limit}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary">
            Search
          </button>{" "}
          <a href="/activity">Clear filters</a> · <a href={exportHref}>Export CSV</a>
        </p>
      </form>
      {answer instanceof PageApiError ? (
        <p class="error" role="alert">
          {answer.message}
        </p>
      ) : (
        <ActivityResults answer={answer} form={form} timezone={tz} />
      )}
    </>
  );
  return { title: "Activity", body, scripts: ["activity.js"] };
};

function ActivityResults({
  answer,
  form,
  timezone,
}: {
  answer: ActivityPage;
  form: ActivityForm;
  timezone: string;
}) {
  if (answer.rows.length === 0)
    return (
      <p class="empty" role="status">
        No activity matches these filters in this period. Widen the period or{" "}
        <a href="/activity">clear the filters</a>; mail sent through your SMTP users appears here within
        seconds.
      </p>
    );
  return (
    <>
      <div class="table-wrap">
        <ActivityTable
          rows={answer.rows}
          caption={`${form.view === "recipients" ? "Activity by recipient" : "Every status change"}, ${
            form.cursor ? "older rows" : "newest first"
          }`}
          timeline={form.view === "recipients"}
          timezone={timezone}
          idPrefix="act"
        />
      </div>
      <nav class="pager" aria-label="Pages">
        {form.cursor ? <a href={`/activity?${pageQuery(form)}`}>Newest</a> : null}
        {answer.nextCursor ? (
          <a href={`/activity?${pageQuery(form, answer.nextCursor)}`} rel="next">
            Older
          </a>
        ) : null}
      </nav>
    </>
  );
}
