/**
 * Issue 15 "explain every decision", on embedded chDB: the classifier's decision travels on the
 * status event into `events` and, through the view migration 0007 made again, into
 * `activity_recipients`; Activity (both views and the timeline) shows it as the reason's
 * explanation. Events stored before 0007 (and events encoded before the field existed) still
 * read, with no explanation.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explanationOf } from "../../shared/analytics/activity.ts";
import { createAnalytics } from "../../shared/analytics/service.ts";
import { classifyReply, decisionOf } from "../../shared/bounce/classify.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { MIGRATIONS, migrate } from "../../shared/clickhouse/migrations.ts";
import {
  decodeStatusEvent,
  type StatusEvent,
  statusEvent,
  statusEventRecord,
} from "../../shared/model/event.ts";
import type { RecipientStatus, StatusReason } from "../../shared/model/status.ts";
import { insertEvents, liftTtl } from "./fixture.ts";

const ACCT = "explain";
const T0 = Date.parse("2026-11-02T10:00:00Z");
const dataDir = mkdtempSync(join(tmpdir(), "petrel-decision-"));
let h: ClickHouseHandle;

const SPAMHAUS = "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org";
const UNKNOWN =
  "550 5.1.1 <ghost@rcpt.test>: Recipient address rejected: User unknown in virtual mailbox table";

function ev(
  rid: string,
  status: RecipientStatus,
  minute: number,
  reason: StatusReason,
  reply = "",
): StatusEvent {
  const c = reply ? classifyReply(reply, "RCPT") : undefined;
  return statusEvent(
    {
      accountId: ACCT,
      messageId: `<${rid}@mail.test>`,
      recipientId: rid,
      recipient: `${rid.replace(".", "-")}@rcpt.test`,
      recipientDomain: "rcpt.test",
      sender: "app@shop.test",
      sendingDomain: "shop.test",
      smtpUser: "smtp-1",
      subject: "s",
      isTest: false,
    },
    {
      status,
      reason,
      remoteReply: reply,
      mxHost: "mx.rcpt.test",
      attempt: 1,
      ts: T0 + minute * 60_000,
      ...(c ? { decision: decisionOf(c) } : {}),
    },
  );
}

beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "decision" });
  // An event stored before 0007: no decision columns yet.
  await migrate(
    h.client,
    MIGRATIONS.filter((m) => m.version < 7),
  );
  await liftTtl(h.client);
  const { decision: _d, ...old } = ev("old.0", "HardBounce", 0, "unknown_user", UNKNOWN);
  await h.client.insert({
    table: "events",
    values: [
      {
        event_id: old.eventId,
        account_id: ACCT,
        message_id: old.messageId,
        recipient_id: old.recipientId,
        recipient: old.recipient,
        recipient_domain: "rcpt.test",
        sender: old.sender,
        sending_domain: "shop.test",
        smtp_user: "smtp-1",
        subject: "s",
        status: "HardBounce",
        reason: "unknown_user",
        remote_reply: UNKNOWN,
        mx_host: "mx.rcpt.test",
        is_test: 0,
        ts: "2026-11-02 09:00:00.000",
      },
    ],
    format: "JSONEachRow",
  });
  await migrate(h.client);
  await insertEvents(h.client, [
    ev("blk.0", "Deferred", 1, "blocklisted", SPAMHAUS.replace(/^554 5/, "450 4")),
    ev("blk.0", "SoftBounce", 2, "blocklisted", SPAMHAUS),
    ev("usr.0", "HardBounce", 3, "unknown_user", UNKNOWN),
    ev("exp.0", "SoftBounce", 4, "retry_period_expired", "450 4.7.1 Too many messages, rate limit exceeded"),
  ]);
}, 120_000);
afterAll(async () => {
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const range = { from: T0 - 3_600_000, to: T0 + 3_600_000, limit: 50 };

describe("the bounce decision in Activity (issue 15)", () => {
  it("an event encoded before the field decodes; one with it keeps it", () => {
    const withIt = ev("usr.0", "HardBounce", 3, "unknown_user", UNKNOWN);
    const { decision: _d, ...before } = withIt;
    const decoded = decodeStatusEvent(statusEventRecord(before as StatusEvent).value);
    expect(decoded.success && decoded.data.decision).toBeUndefined();
    const again = decodeStatusEvent(statusEventRecord(withIt).value);
    expect(again.success && again.data.decision).toEqual({
      class: "unknown_user",
      rule: expect.any(String),
      says: expect.any(String),
    });
    const bad = decodeStatusEvent(
      statusEventRecord({ ...withIt, decision: { class: "nonsense", rule: "x", says: "" } } as never).value,
    );
    expect(bad.success).toBe(false);
  });

  it("the recipient view names class and rule in words; the pre-0007 row reads with none", async () => {
    const a = createAnalytics(h.client);
    const page = await a.activity(ACCT, range, "UTC");
    const by = Object.fromEntries(page.rows.map((r) => [r.recipientId, r]));
    expect(by["blk.0"]).toMatchObject({ status: "SoftBounce", class: "blocklist" });
    expect(by["blk.0"]?.explanation).toBe(
      "Soft bounce — blocklisted (the sending IP or domain is on a blocklist)",
    );
    expect(by["blk.0"]?.rule).not.toBe("");
    expect(by["usr.0"]?.explanation).toMatch(/^Hard bounce — unknown user \(.+\)$/);
    expect(by["exp.0"]?.explanation).toMatch(
      /^Soft bounce — retry period expired; last attempt: rate limited \(.+\)$/,
    );
    expect(by["old.0"]).toMatchObject({ status: "HardBounce", explanation: "", class: "", rule: "" });
  });

  it("the events view and the timeline carry it on each failure event", async () => {
    const a = createAnalytics(h.client);
    const events = await a.activity(ACCT, { ...range, view: "events" }, "UTC");
    const deferred = events.rows.find((r) => r.status === "Deferred");
    expect(deferred?.explanation).toMatch(/^Deferred — blocklisted \(/);
    const timeline = await a.timeline(ACCT, "blk.0", "UTC");
    expect(timeline.map((r) => r.explanation.split(" (")[0])).toEqual([
      "Deferred — blocklisted",
      "Soft bounce — blocklisted",
    ]);
  });

  it("explanationOf: only failure statuses, only known classes", () => {
    const d = { class: "blocklist", says: "listed" };
    expect(explanationOf("Delivered", "none", d)).toBe("");
    expect(explanationOf("HardBounce", "unknown_user", { class: "bogus", says: "x" })).toBe("");
    expect(explanationOf("SoftBounce", "blocklisted", d)).toBe("Soft bounce — blocklisted (listed)");
  });
});
