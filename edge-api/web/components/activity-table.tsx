/** @jsxImportSource hono/jsx */
/**
 * A1: activity rows as a table (one per recipient, or one per status event): time in the account's
 * time zone, status label (reason on hover and focus), recipient, subject, sender; the full table
 * adds the message id and a "Details" disclosure with the rest of A1 (SMTP user, sending domain,
 * remote reply, MX host) and, in the recipient view, the recipient's timeline (every status change,
 * filled in by assets/activity.js; without script, a link to the events view of that recipient).
 * Used by the Activity page and the Dashboard's last 10 activities.
 */
import type { ActivityRow } from "../types.ts";
import { StatusLabel } from "./status-label.tsx";

/** `2026-11-22T23:40:01.123+01:00` → `2026-11-22 23:40:01` (the API already gives account time). */
export function localTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

export interface ActivityTableProps {
  rows: ActivityRow[];
  caption: string;
  timezone: string;
  /** Dashboard: the five columns of seed 004 only. */
  compact?: boolean;
  /** Prefix of the tooltip ids, unique in the page. */
  idPrefix: string;
  /** Recipient view: "More" holds the recipient's timeline. */
  timeline?: boolean;
}

export function ActivityTable(p: ActivityTableProps) {
  return (
    <table class="activity" data-rows={p.rows.length}>
      <caption>
        {p.caption} <span class="muted">(times in {p.timezone})</span>
      </caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Status</th>
          <th scope="col">Recipient</th>
          <th scope="col">Subject</th>
          <th scope="col">Sender</th>
          {p.compact ? null : <th scope="col">Message id</th>}
          {p.compact ? null : <th scope="col">Details</th>}
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <ActivityTableRow
            row={r}
            compact={p.compact ?? false}
            idPrefix={p.idPrefix}
            timeline={p.timeline ?? false}
          />
        ))}
      </tbody>
    </table>
  );
}

/** The From header is shown beside the envelope sender when it names another address (issue 14 point 6). */
const otherHeaderFrom = (row: ActivityRow) =>
  row.headerFrom !== "" && !row.headerFrom.toLowerCase().includes(row.sender.toLowerCase());

export function ActivityTableRow({
  row,
  compact,
  idPrefix,
  timeline = false,
}: {
  row: ActivityRow;
  compact: boolean;
  idPrefix: string;
  timeline?: boolean;
}) {
  const eventsOfRecipient = `/activity?${new URLSearchParams({
    view: "events",
    recipient: row.recipient,
    messageId: row.messageId,
  })}`;
  return (
    <tr data-recipient={row.recipient} data-status={row.status}>
      <td class="nowrap">
        <time datetime={row.time}>{localTime(row.time)}</time>
      </td>
      <td>
        <StatusLabel
          id={`${idPrefix}-${row.eventId}`}
          status={row.status}
          reason={row.reason}
          remoteReply={row.remoteReply}
          mxHost={row.mxHost}
          explanation={row.explanation}
        />
      </td>
      <td class="nowrap">
        {row.recipient ? (
          <span class="addr" title={row.recipient}>
            {row.recipient}
          </span>
        ) : (
          <span class="muted no-recipient">none given (refused before any RCPT TO)</span>
        )}
        {row.isTest ? <span class="badge">test</span> : null}
      </td>
      <td>{row.subject}</td>
      <td>
        <span class="addr" title={row.sender}>
          {row.sender}
        </span>
        {otherHeaderFrom(row) ? <span class="muted header-from"> From header: {row.headerFrom}</span> : null}
      </td>
      {compact ? null : (
        <td>
          <code class="ident" title={row.messageId}>
            {row.messageId}
          </code>
        </td>
      )}
      {compact ? null : (
        <td>
          <details class="more" data-timeline={timeline ? row.recipientId : undefined}>
            <summary>More</summary>
            <dl>
              <dt>SMTP user</dt>
              <dd>{row.smtpUser || "—"}</dd>
              <dt>From header</dt>
              <dd>{row.headerFrom || "—"}</dd>
              <dt>Sending domain</dt>
              <dd>{row.sendingDomain || "—"}</dd>
              <dt>Remote reply</dt>
              <dd>{row.remoteReply || "—"}</dd>
              <dt>MX host</dt>
              <dd>{row.mxHost || "—"}</dd>
            </dl>
            {timeline ? (
              <section class="timeline" aria-label="Timeline">
                <h3>Timeline</h3>
                <p class="timeline-body">
                  <a href={eventsOfRecipient}>Every status change of this recipient</a>
                </p>
              </section>
            ) : null}
          </details>
        </td>
      )}
    </tr>
  );
}
