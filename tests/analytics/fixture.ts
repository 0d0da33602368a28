/**
 * Known events for the figures test (A1–A6). Account `acme` is in America/New_York, whose DST ended on
 * 2026-11-01 (that local day is 25 hours: 04:00Z → 05:00Z next day). `now` is 2026-11-03 10:00 EST.
 * Local days of acme: Nov 1 = [11-01T04:00Z, 11-02T05:00Z), Nov 2 = [11-02T05:00Z, 11-03T05:00Z),
 * Nov 3 = [11-03T05:00Z, 11-04T05:00Z).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { eventRow } from "../../shared/analytics/rows.ts";
import { StatusEvent, statusEventId } from "../../shared/model/event.ts";
import type { RecipientStatus, StatusReason } from "../../shared/model/status.ts";

export const NOW = Date.parse("2026-11-03T15:00:00Z");
export const ACME = "acme";
export const ACME_TZ = "America/New_York";
export const GLOBEX = "globex";
export const KOLKATA = "kolkata";

interface Rcpt {
  account: string;
  rid: string;
  to: string;
  subject: string;
  domain?: string;
  isTest?: boolean;
}

function ev(
  r: Rcpt,
  status: RecipientStatus,
  iso: string,
  reason: StatusReason = "none",
  attempt = 0,
): StatusEvent {
  return StatusEvent.parse({
    eventId: statusEventId(r.rid, status, attempt),
    accountId: r.account,
    messageId: `<${r.rid.split(".")[0]}@mail.${r.domain ?? "acme.com"}>`,
    recipientId: r.rid,
    recipient: r.to,
    recipientDomain: r.to.split("@")[1],
    sender: `billing@${r.domain ?? "acme.com"}`,
    sendingDomain: r.domain ?? "acme.com",
    smtpUser: "smtp-acme-1",
    subject: r.subject,
    status,
    reason,
    remoteReply: status === "Delivered" ? "250 2.0.0 OK" : reason === "none" ? "" : `reply for ${reason}`,
    mxHost: status === "Accepted" || status === "Rejected" ? "" : `mx.${r.to.split("@")[1]}`,
    isTest: r.isTest ?? false,
    ts: Date.parse(iso),
    attempt,
  });
}

const r1: Rcpt = { account: ACME, rid: "m1.0", to: "ann@example.org", subject: "Invoice 1" };
const r2: Rcpt = { account: ACME, rid: "m2.0", to: "bob@example.org", subject: "Invoice 2, late" };
const r3: Rcpt = { account: ACME, rid: "m3.0", to: "cat@example.net", subject: "Welcome" };
const r4: Rcpt = { account: ACME, rid: "m4.0", to: "dan@example.net", subject: "Your INVOICE" };
const r5: Rcpt = { account: ACME, rid: "m5.0", to: "eve@example.com", subject: "Quota" };
const r6: Rcpt = { account: ACME, rid: "m6.0", to: "sandbox@example.com", subject: "Test", isTest: true };
const r7: Rcpt = {
  account: ACME,
  rid: "m7.0",
  to: "fay@example.com",
  subject: "News",
  domain: "news.acme.com",
};
const r8: Rcpt = { account: ACME, rid: "m8.0", to: "gus@example.com", subject: "=cmd" };
const r9: Rcpt = { account: ACME, rid: "m9.0", to: "hal@example.com", subject: "Morning" };
const g1: Rcpt = {
  account: GLOBEX,
  rid: "g1.0",
  to: "dan@example.net",
  subject: "Globex",
  domain: "globex.com",
};
const k1: Rcpt = { account: KOLKATA, rid: "k1.0", to: "raj@example.in", subject: "Namaste", domain: "k.in" };

export const EVENTS: StatusEvent[] = [
  // Nov 1 local (DST day)
  ev(r1, "Accepted", "2026-11-01T04:30:00Z"),
  ev(r1, "Delivered", "2026-11-01T04:31:00Z"),
  // 23:30 EST on Nov 1 is Nov 2 in UTC: counts on Nov 1 (non-UTC midnight, after the DST change)
  ev(r2, "Accepted", "2026-11-02T04:30:00Z"),
  ev(r2, "Deferred", "2026-11-02T04:35:00Z", "greylisted", 0),
  ev(r2, "Delivered", "2026-11-02T06:00:00Z", "none", 1),
  // Nov 2 local
  ev(r3, "Accepted", "2026-11-02T14:00:00Z"),
  ev(r3, "Delivered", "2026-11-02T14:01:00Z"),
  ev(r3, "HardBounce", "2026-11-03T16:00:00Z", "delayed_bounce"), // A6: a later bounce supersedes Delivered
  ev(r4, "Accepted", "2026-11-02T15:00:00Z"),
  ev(r4, "Deferred", "2026-11-02T15:01:00Z", "remote_temporary", 0),
  ev(r4, "Deferred", "2026-11-02T16:00:00Z", "remote_temporary", 1),
  ev(r4, "Delivered", "2026-11-02T17:00:00Z", "none", 2),
  ev(r5, "Rejected", "2026-11-02T15:30:00Z", "quota_reached"),
  ev(r6, "Accepted", "2026-11-02T16:00:00Z"),
  ev(r6, "Delivered", "2026-11-02T16:00:01Z"),
  ev(r7, "Accepted", "2026-11-02T18:00:00Z"),
  ev(r7, "SoftBounce", "2026-11-02T20:00:00Z", "retry_period_expired"),
  ev(r8, "Accepted", "2026-11-03T04:59:59.999Z"), // 23:59:59.999 EST, still Nov 2
  ev(r8, "Pending", "2026-11-03T04:59:59.999Z"),
  // Nov 3 local
  ev(r9, "Accepted", "2026-11-03T05:00:00Z"), // local midnight
  ev(r9, "Delivered", "2026-11-03T05:01:00Z"),
  // other accounts
  ev(g1, "Accepted", "2026-11-02T15:00:00Z"),
  ev(g1, "Delivered", "2026-11-02T15:00:01Z"),
  ev(k1, "Accepted", "2026-11-02T18:45:00Z"), // 00:15 IST on Nov 3
  ev(k1, "Delivered", "2026-11-02T18:46:00Z"),
];

/** Fixture dates are fixed, so the 90-day TTL (A2) is lifted in the test database. */
export async function liftTtl(client: ClickHouseClient): Promise<void> {
  for (const t of [
    "events",
    "recipient_final",
    "stats_hourly",
    "stats_daily",
    "stats_final",
    "activity_recipients",
  ]) {
    await client.command({ query: `ALTER TABLE ${t} REMOVE TTL` });
  }
}

/** How many distinct events `events` holds (what every sink suite checks landed once). */
export async function storedEventIds(client: ClickHouseClient): Promise<number> {
  const rs = await client.query({
    query: "SELECT uniqExact(event_id) AS n FROM events",
    format: "JSONEachRow",
  });
  return Number(((await rs.json()) as { n: string }[])[0]!.n);
}

export async function insertEvents(client: ClickHouseClient, events: StatusEvent[]): Promise<void> {
  await client.insert({ table: "events", values: events.map(eventRow), format: "JSONEachRow" });
}

/**
 * One status event of test recipient `i` (address `r<i>@example.com`, subject `s <i>`, from
 * s@acme.com), the shape every sink suite streams; the event id is the recipient's, status and attempt.
 */
export function recipientEvent(o: {
  i: number;
  recipientId: string;
  messageId: string;
  accountId: string;
  status: RecipientStatus;
  ts: number;
  attempt?: number;
}): StatusEvent {
  const attempt = o.attempt ?? 0;
  return {
    eventId: statusEventId(o.recipientId, o.status, attempt),
    accountId: o.accountId,
    messageId: o.messageId,
    recipientId: o.recipientId,
    recipient: `r${o.i}@example.com`,
    recipientDomain: "example.com",
    sender: "s@acme.com",
    sendingDomain: "acme.com",
    smtpUser: "u",
    subject: `s ${o.i}`,
    status: o.status,
    reason: "none",
    remoteReply: "",
    mxHost: "",
    isTest: false,
    ts: o.ts,
    attempt,
  };
}

/**
 * `n` Delivered events of recipients `<prefix><from>.0` … (one per message, over 4 accounts, a
 * second apart from a day ago): the sink suites' stream, each event id distinct.
 */
export function deliveredEvents(prefix: string, from: number, n: number): StatusEvent[] {
  const base = Date.now() - 86_400_000;
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return recipientEvent({
      i,
      recipientId: `${prefix}${i}.0`,
      messageId: `<${prefix}${i}@x>`,
      accountId: `acct-${i % 4}`,
      status: "Delivered",
      ts: base + i * 1000,
    });
  });
}
