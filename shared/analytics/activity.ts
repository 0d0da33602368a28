/**
 * Activity (A1–A3), always scoped to one account (`account_id = {account}` leads every sort key), newest
 * first, filtered by recipient, sender, subject (contains, any case), status, message id and period,
 * with a cursor to page on. Two views:
 * - `recipients` (the default, A1 as corrected): one row per recipient with its current status (its
 *   latest event), plus, when a bounce followed `Delivered`, the Delivered row as a row of its own (seed
 *   003). Read from `activity_recipients` (migrations/0005_activity_recipients.ts). Filters apply to
 *   what each row shows: `status=Delivered` finds recipients currently Delivered and the Delivered rows
 *   of those that bounced later, never a recipient whose Delivered was followed by nothing but is now
 *   something else.
 * - `events`: one row per status event (every status change), from `events`.
 * A recipient's whole timeline (every event, oldest first) is `recipientTimeline`.
 */
import { explain } from "../bounce/classify.ts";
import { CLASS_LABELS, REASON_CLASSES, type ReasonClass } from "../bounce/rules.ts";
import { RECIPIENT_STATUSES, type RecipientStatus } from "../model/status.ts";
import { type QueryClient, rows } from "./client.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { localIso } from "./period.ts";

/** The two lists of A1: one row per recipient (current status), or one per status event. */
export const ACTIVITY_VIEWS = ["recipients", "events"] as const;
export type ActivityView = (typeof ACTIVITY_VIEWS)[number];

export interface ActivityFilter {
  /** [from, to) in ms since the epoch. */
  from: number;
  to: number;
  recipient?: string;
  sender?: string;
  /** Substring of the subject, any case. */
  subject?: string;
  status?: RecipientStatus[];
  messageId?: string;
  /** The `nextCursor` of the previous page (cursor.ts). */
  cursor?: string;
  /** Rows per page, 1–1000. */
  limit: number;
  /** Default `recipients`. */
  view?: ActivityView;
}

export interface ActivityRow {
  /** The event this row shows. */
  eventId: string;
  /** `<petrel message id>.<index>`: the recipient; its timeline is GET /v1/activity/{recipientId}. */
  recipientId: string;
  /** ms since the epoch. */
  ts: number;
  /** The same instant in the account's time zone, ISO 8601 with offset (A1). */
  time: string;
  status: RecipientStatus;
  recipient: string;
  subject: string;
  /** The envelope sender (MAIL FROM). */
  sender: string;
  /** The message's From header when the session read it (submission rows; "" otherwise). */
  headerFrom: string;
  /** Why (Rejected, Deferred, SoftBounce, HardBounce); `none` otherwise. */
  reason: string;
  messageId: string;
  smtpUser: string;
  sendingDomain: string;
  remoteReply: string;
  mxHost: string;
  isTest: boolean;
  /**
   * The classifier's decision in words (issue 15): the status, the reason class and what the deciding
   * rule saw — "Soft bounce — blocklisted (Spamhaus listing in the reply)"; "" when none was made.
   */
  explanation: string;
  /** The reason class and the rule id behind `explanation` ("" when none). */
  class: string;
  rule: string;
}

export interface ActivityPage {
  rows: ActivityRow[];
  /** Present when more rows follow. */
  nextCursor?: string;
}

interface Raw {
  event_id: string;
  recipient_id: string;
  row_kind?: number | string;
  ts_ms: string | number;
  status: string;
  recipient: string;
  subject: string;
  sender: string;
  header_from: string;
  reason: string;
  message_id: string;
  smtp_user: string;
  sending_domain: string;
  remote_reply: string;
  mx_host: string;
  is_test: number | string;
  decision_class: string;
  decision_rule: string;
  decision_says: string;
}

const STATUS_SET = new Set<string>(RECIPIENT_STATUSES);

const COLUMNS = `event_id, recipient_id, toUnixTimestamp64Milli(ts) AS ts_ms, status, recipient, subject, sender,
       header_from, reason, message_id, smtp_user, sending_domain, remote_reply, mx_host, is_test,
       decision_class, decision_rule, decision_says`;

const isReasonClass = (c: string): c is ReasonClass => (REASON_CLASSES as readonly string[]).includes(c);

const DECIDED: Readonly<Record<string, "defer" | "soft" | "hard">> = {
  Deferred: "defer",
  SoftBounce: "soft",
  HardBounce: "hard",
};

/**
 * The Activity reason's explanation: the classifier's words for the status, class and rule;
 * a soft bounce for the retry period says so and what the last attempt got.
 */
export function explanationOf(status: string, reason: string, d: { class: string; says: string }): string {
  const result = DECIDED[status];
  if (!result || !isReasonClass(d.class)) return "";
  if (status === "SoftBounce" && reason === "retry_period_expired")
    return `Soft bounce — retry period expired; last attempt: ${CLASS_LABELS[d.class]} (${d.says})`;
  return explain({ result, class: d.class, says: d.says });
}

/** The filter's conditions (account, period, search fields), the same on both tables. */
function conditions(
  accountId: string,
  f: ActivityFilter,
): { where: string[]; params: Record<string, unknown> } {
  const where = [
    "account_id = {account:String}",
    "ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')",
    "ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')",
  ];
  const params: Record<string, unknown> = { account: accountId, from: f.from, to: f.to, limit: f.limit + 1 };
  if (f.recipient !== undefined) {
    // Any case (addresses are stored as submitted): the skip indexes of migrations 0003 and 0005 are on
    // lowerUTF8(recipient), so this condition can use them.
    where.push("lowerUTF8(recipient) = lowerUTF8({recipient:String})");
    params.recipient = f.recipient.trim();
  }
  if (f.sender !== undefined) {
    where.push("lowerUTF8(sender) = lowerUTF8({sender:String})");
    params.sender = f.sender.trim();
  }
  if (f.subject !== undefined && f.subject !== "") {
    where.push("positionCaseInsensitiveUTF8(subject, {subject:String}) > 0");
    params.subject = f.subject;
  }
  if (f.status && f.status.length > 0) {
    where.push("status IN {status:Array(String)}");
    params.status = f.status.filter((s) => STATUS_SET.has(s));
  }
  if (f.messageId !== undefined) {
    where.push("message_id = {messageId:String}");
    params.messageId = f.messageId;
  }
  return { where, params };
}

function toRow(r: Raw, timezone: string): ActivityRow {
  const ts = Number(r.ts_ms);
  return {
    eventId: r.event_id,
    recipientId: r.recipient_id,
    ts,
    time: localIso(ts, timezone),
    status: r.status as RecipientStatus,
    recipient: r.recipient,
    subject: r.subject,
    sender: r.sender,
    headerFrom: r.header_from,
    reason: r.reason,
    messageId: r.message_id,
    smtpUser: r.smtp_user,
    sendingDomain: r.sending_domain,
    remoteReply: r.remote_reply,
    mxHost: r.mx_host,
    isTest: Number(r.is_test) === 1,
    explanation: explanationOf(r.status, r.reason, {
      class: r.decision_class ?? "",
      says: r.decision_says ?? "",
    }),
    class: r.decision_class ?? "",
    rule: r.decision_rule ?? "",
  };
}

/** Events view: every status event. */
async function searchEvents(client: QueryClient, accountId: string, f: ActivityFilter, timezone: string) {
  const { where, params } = conditions(accountId, f);
  if (f.cursor !== undefined) {
    const c = decodeCursor(f.cursor, "events");
    where.push("(ts, event_id) < (fromUnixTimestamp64Milli({cts:Int64}, 'UTC'), {cid:String})");
    params.cts = c.ts;
    params.cid = c.id;
  }
  // FINAL: a duplicate that slipped past the sink (same event_id, same ts) is shown once.
  const found = await rows<Raw>(
    client,
    `SELECT ${COLUMNS}
     FROM events FINAL
     WHERE ${where.join(" AND ")}
     ORDER BY ts DESC, event_id DESC
     LIMIT {limit:UInt32}`,
    params,
  );
  const page = found.slice(0, f.limit).map((r) => toRow(r, timezone));
  const last = page.at(-1);
  return found.length > f.limit && last
    ? { rows: page, nextCursor: encodeCursor(last.ts, last.eventId) }
    : { rows: page };
}

/**
 * Recipient view: the current row of every recipient (row_kind 1) and the Delivered row (row_kind 0)
 * of the recipients whose current status is a bounce. FINAL keeps the latest version per key before
 * WHERE applies, so the filters see the current status. Ordered by (ts, recipient id, row kind)
 * descending: at one millisecond the bounce comes before the Delivered it follows.
 */
async function searchRecipients(
  client: QueryClient,
  accountId: string,
  f: ActivityFilter,
  timezone: string,
): Promise<ActivityPage> {
  const { where, params } = conditions(accountId, f);
  // A bounce follows its Delivered, so a bounce that matters here is at or after `from`.
  where.push(`(row_kind = 1 OR recipient_id IN (
       SELECT recipient_id FROM activity_recipients FINAL
       WHERE account_id = {account:String} AND row_kind = 1 AND status IN ('SoftBounce', 'HardBounce')
         AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')))`);
  if (f.cursor !== undefined) {
    const c = decodeCursor(f.cursor, "recipients");
    where.push(
      "(ts, recipient_id, row_kind) < (fromUnixTimestamp64Milli({cts:Int64}, 'UTC'), {cid:String}, {ckind:UInt8})",
    );
    params.cts = c.ts;
    params.cid = c.id;
    params.ckind = c.rowKind;
  }
  const found = await rows<Raw>(
    client,
    `SELECT ${COLUMNS}, row_kind
     FROM activity_recipients FINAL
     WHERE ${where.join(" AND ")}
     ORDER BY ts DESC, recipient_id DESC, row_kind DESC
     LIMIT {limit:UInt32}`,
    params,
  );
  const page = found.slice(0, f.limit);
  const last = page.at(-1);
  const out = page.map((r) => toRow(r, timezone));
  return found.length > f.limit && last
    ? { rows: out, nextCursor: encodeCursor(Number(last.ts_ms), last.recipient_id, Number(last.row_kind)) }
    : { rows: out };
}

export function searchActivity(
  client: QueryClient,
  accountId: string,
  f: ActivityFilter,
  timezone: string,
): Promise<ActivityPage> {
  return (f.view ?? "recipients") === "events"
    ? searchEvents(client, accountId, f, timezone)
    : searchRecipients(client, accountId, f, timezone);
}

/**
 * One recipient's whole timeline (A1): every status event, oldest first (ties at one millisecond in
 * status order), with its reason, remote reply and MX host. Empty when the recipient is not the
 * account's (or has expired).
 */
export async function recipientTimeline(
  client: QueryClient,
  accountId: string,
  recipientId: string,
  timezone: string,
): Promise<ActivityRow[]> {
  const found = await rows<Raw>(
    client,
    `SELECT ${COLUMNS}
     FROM events FINAL
     WHERE account_id = {account:String} AND recipient_id = {rid:String}
     ORDER BY ts, indexOf(['Accepted', 'Pending', 'Deferred', 'Delivered', 'SoftBounce', 'HardBounce', 'Rejected'],
       toString(status)), event_id`,
    { account: accountId, rid: recipientId },
  );
  return found.map((r) => toRow(r, timezone));
}

/** A1's columns in CSV order. */
export const CSV_COLUMNS = [
  "time",
  "status",
  "recipient",
  "subject",
  "sender",
  "reason",
  "messageId",
  "smtpUser",
  "sendingDomain",
  "remoteReply",
  "mxHost",
] as const satisfies readonly (keyof ActivityRow)[];

function csvCell(v: string): string {
  // A leading = + - @ would be a formula in a spreadsheet: prefix a quote (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvLine(r: ActivityRow): string {
  return `${CSV_COLUMNS.map((k) => csvCell(String(r[k]))).join(",")}\r\n`;
}

/**
 * A3's CSV export, streamed: pages of `pageSize` rows are read one after the other as the client
 * consumes the body, so memory stays bounded whatever the number of rows.
 */
export function activityCsvStream(
  client: QueryClient,
  accountId: string,
  filter: Omit<ActivityFilter, "cursor" | "limit">,
  timezone: string,
  pageSize = 1000,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let cursor: string | undefined;
  let started = false;
  let done = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(enc.encode(`${CSV_COLUMNS.join(",")}\r\n`));
        return;
      }
      if (done) {
        controller.close();
        return;
      }
      const page = await searchActivity(
        client,
        accountId,
        { ...filter, limit: pageSize, ...(cursor !== undefined ? { cursor } : {}) },
        timezone,
      );
      if (page.rows.length > 0) controller.enqueue(enc.encode(page.rows.map(csvLine).join("")));
      cursor = page.nextCursor;
      if (cursor === undefined) done = true;
    },
  });
}
