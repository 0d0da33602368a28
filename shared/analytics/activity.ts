/**
 * Activity (A1–A3): one row per recipient per status event, newest first, filtered by recipient,
 * sender, subject (contains, any case), status, message id and period, with a cursor to page on.
 * Always scoped to one account (`account_id = {account}` leads the `events` sort key).
 */
import { fromBase64Url, toBase64Url } from "../base64url.ts";
import { RECIPIENT_STATUSES, type RecipientStatus } from "../model/status.ts";
import { type QueryClient, rows } from "./client.ts";
import { localIso } from "./period.ts";

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
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  /** Rows per page, 1–1000. */
  limit: number;
}

export interface ActivityRow {
  eventId: string;
  /** ms since the epoch. */
  ts: number;
  /** The same instant in the account's time zone, ISO 8601 with offset (A1). */
  time: string;
  status: RecipientStatus;
  recipient: string;
  subject: string;
  sender: string;
  /** Why (Rejected, Deferred, SoftBounce, HardBounce); `none` otherwise. */
  reason: string;
  messageId: string;
  smtpUser: string;
  sendingDomain: string;
  remoteReply: string;
  mxHost: string;
  isTest: boolean;
}

export interface ActivityPage {
  rows: ActivityRow[];
  /** Present when more rows follow. */
  nextCursor?: string;
}

export class CursorError extends Error {
  readonly field = "cursor";
}

export function encodeCursor(ts: number, eventId: string): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify([ts, eventId])));
}

export function decodeCursor(cursor: string): { ts: number; eventId: string } {
  try {
    const v = JSON.parse(new TextDecoder().decode(fromBase64Url(cursor)));
    if (Array.isArray(v) && Number.isInteger(v[0]) && typeof v[1] === "string")
      return { ts: v[0], eventId: v[1] };
  } catch {
    // fall through
  }
  throw new CursorError("invalid cursor");
}

interface Raw {
  event_id: string;
  ts_ms: string | number;
  status: string;
  recipient: string;
  subject: string;
  sender: string;
  reason: string;
  message_id: string;
  smtp_user: string;
  sending_domain: string;
  remote_reply: string;
  mx_host: string;
  is_test: number | string;
}

const STATUS_SET = new Set<string>(RECIPIENT_STATUSES);

export async function searchActivity(
  client: QueryClient,
  accountId: string,
  f: ActivityFilter,
  timezone: string,
): Promise<ActivityPage> {
  const where = [
    "account_id = {account:String}",
    "ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')",
    "ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')",
  ];
  const params: Record<string, unknown> = { account: accountId, from: f.from, to: f.to, limit: f.limit + 1 };
  if (f.recipient !== undefined) {
    // Any case (addresses are stored as submitted): the skip index of migration 0003 is on
    // lowerUTF8(recipient), so this condition can use it.
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
  if (f.cursor !== undefined) {
    const c = decodeCursor(f.cursor);
    where.push("(ts, event_id) < (fromUnixTimestamp64Milli({cts:Int64}, 'UTC'), {cid:String})");
    params.cts = c.ts;
    params.cid = c.eventId;
  }
  // FINAL: a duplicate that slipped past the sink (same event_id, same ts) is shown once.
  const found = await rows<Raw>(
    client,
    `SELECT event_id, toUnixTimestamp64Milli(ts) AS ts_ms, status, recipient, subject, sender, reason,
       message_id, smtp_user, sending_domain, remote_reply, mx_host, is_test
     FROM events FINAL
     WHERE ${where.join(" AND ")}
     ORDER BY ts DESC, event_id DESC
     LIMIT {limit:UInt32}`,
    params,
  );
  const page = found.slice(0, f.limit).map((r): ActivityRow => {
    const ts = Number(r.ts_ms);
    return {
      eventId: r.event_id,
      ts,
      time: localIso(ts, timezone),
      status: r.status as RecipientStatus,
      recipient: r.recipient,
      subject: r.subject,
      sender: r.sender,
      reason: r.reason,
      messageId: r.message_id,
      smtpUser: r.smtp_user,
      sendingDomain: r.sending_domain,
      remoteReply: r.remote_reply,
      mxHost: r.mx_host,
      isTest: Number(r.is_test) === 1,
    };
  });
  const last = page.at(-1);
  return found.length > f.limit && last
    ? { rows: page, nextCursor: encodeCursor(last.ts, last.eventId) }
    : { rows: page };
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
