/**
 * Isolation (issue 6): no query returns another account's rows. Random accounts with look-alike data
 * (same recipients, subjects, message ids, domains across accounts); every query, for a random account
 * and random filters, returns only that account's events, and figures equal a model computed from that
 * account's events alone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { searchActivity } from "../../shared/analytics/activity.ts";
import { domainFigures, periodFigures, series } from "../../shared/analytics/queries.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { type StatusEvent, statusEventId } from "../../shared/model/event.ts";
import { insertEvents, liftTtl } from "./fixture.ts";

const dataDir = mkdtempSync(join(tmpdir(), "petrel-isolation-"));
let h: ClickHouseHandle;
const T0 = Date.parse("2026-10-01T00:00:00Z");
const SPAN = 20 * 86_400_000;
const STATUSES = ["Accepted", "Delivered", "Deferred", "SoftBounce", "HardBounce", "Rejected"] as const;

const eventArb = fc.record({
  account: fc.constantFrom("a1", "a2", "a3", "a4", "a'5", "a6 "),
  msg: fc.integer({ min: 0, max: 30 }),
  rcpt: fc.integer({ min: 0, max: 5 }),
  status: fc.constantFrom(...STATUSES),
  dt: fc.integer({ min: 0, max: SPAN - 1 }),
  domain: fc.constantFrom("shared.com", "x.org"),
  isTest: fc.boolean(),
});

let events: StatusEvent[] = [];

beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "isolation" });
  await migrate(h.client);
  await liftTtl(h.client);
  const raw = fc.sample(fc.array(eventArb, { minLength: 400, maxLength: 400 }), { numRuns: 1, seed: 42 })[0]!;
  const byId = new Map<string, StatusEvent>();
  for (const r of raw) {
    // Recipient ids, message ids and addresses repeat across accounts on purpose.
    const rid = `${r.account}/m${r.msg}.${r.rcpt}`;
    const e: StatusEvent = {
      eventId: `${r.account}|${statusEventId(rid, r.status)}`,
      accountId: r.account,
      messageId: `<m${r.msg}@shared>`,
      recipientId: rid,
      recipient: `u${r.rcpt}@example.com`,
      recipientDomain: "example.com",
      sender: `s@${r.domain}`,
      sendingDomain: r.domain,
      smtpUser: "u",
      subject: `Subject ${r.msg}`,
      status: r.status,
      reason: "none",
      remoteReply: "",
      mxHost: "",
      isTest: r.isTest,
      ts: T0 + r.dt,
      attempt: 0,
    };
    byId.set(e.eventId, e);
  }
  // One test flag and domain per recipient, as in real data.
  const first = new Map<string, StatusEvent>();
  events = [...byId.values()].map((e) => {
    const f = first.get(e.recipientId) ?? e;
    first.set(e.recipientId, f);
    return { ...e, isTest: f.isTest, sendingDomain: f.sendingDomain, sender: f.sender };
  });
  await insertEvents(h.client, events);
}, 120_000);
afterAll(async () => {
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const RANK: Record<string, number> = {
  Accepted: 1,
  Pending: 2,
  Deferred: 3,
  Delivered: 4,
  SoftBounce: 5,
  HardBounce: 6,
  Rejected: 7,
};

function modelFigures(account: string, from: number, to: number, domain?: string) {
  const byR = new Map<string, StatusEvent[]>();
  for (const e of events.filter((x) => x.accountId === account))
    byR.set(e.recipientId, [...(byR.get(e.recipientId) ?? []), e]);
  const f = {
    recipients: 0,
    delivered: 0,
    softBounces: 0,
    hardBounces: 0,
    rejected: 0,
    inFlight: 0,
    testRecipients: 0,
  };
  for (const evs of byR.values()) {
    const firstTs = Math.min(...evs.map((e) => e.ts));
    const last = evs.reduce((a, b) =>
      b.ts > a.ts || (b.ts === a.ts && RANK[b.status]! > RANK[a.status]!) ? b : a,
    );
    if (firstTs < from || firstTs >= to) continue;
    if (domain !== undefined && evs[0]!.sendingDomain !== domain) continue;
    if (evs[0]!.isTest) {
      // S14: counted apart, in no other figure
      if (last.status !== "Rejected") f.testRecipients++;
      continue;
    }
    if (last.status === "Rejected") f.rejected++;
    else f.recipients++;
    if (last.status === "Delivered") f.delivered++;
    if (last.status === "SoftBounce") f.softBounces++;
    if (last.status === "HardBounce") f.hardBounces++;
    if (last.status === "Accepted" || last.status === "Pending" || last.status === "Deferred") f.inFlight++;
  }
  return f;
}

describe("isolation (property)", () => {
  const query = fc.record({
    account: fc.constantFrom("a1", "a2", "a3", "a4", "a'5", "a6 ", "nobody", "a1' OR 1=1 --"),
    a: fc.integer({ min: 0, max: SPAN }),
    b: fc.integer({ min: 0, max: SPAN }),
    recipient: fc.option(
      fc.integer({ min: 0, max: 5 }).map((n) => `u${n}@example.com`),
      { nil: undefined },
    ),
    subject: fc.option(fc.constantFrom("Subject", "1", "2"), { nil: undefined }),
    messageId: fc.option(
      fc.integer({ min: 0, max: 30 }).map((n) => `<m${n}@shared>`),
      { nil: undefined },
    ),
  });

  it("activity search returns exactly the account's matching events, never another's", async () => {
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const from = T0 + Math.min(q.a, q.b);
        const to = T0 + Math.max(q.a, q.b) + 1;
        const page = await searchActivity(
          h.client,
          q.account,
          {
            from,
            to,
            limit: 1000,
            ...(q.recipient ? { recipient: q.recipient } : {}),
            ...(q.subject ? { subject: q.subject } : {}),
            ...(q.messageId ? { messageId: q.messageId } : {}),
          },
          "UTC",
        );
        const want = events
          .filter(
            (e) =>
              e.accountId === q.account &&
              e.ts >= from &&
              e.ts < to &&
              (!q.recipient || e.recipient === q.recipient) &&
              (!q.subject || e.subject.includes(q.subject)) &&
              (!q.messageId || e.messageId === q.messageId),
          )
          .map((e) => e.eventId)
          .sort();
        expect(page.rows.map((r) => r.eventId).sort()).toEqual(want);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it("figures and domain figures count only the account's recipients", async () => {
    await fc.assert(
      fc.asyncProperty(query, fc.constantFrom(undefined, "shared.com", "x.org"), async (q, domain) => {
        const from = T0 + Math.min(q.a, q.b);
        const to = T0 + Math.max(q.a, q.b) + 1;
        const model = modelFigures(q.account, from, to);
        expect(await periodFigures(h.client, q.account, { from, to })).toEqual(model);
        // The cumulative series ends on the period's figures.
        const cum = await series(h.client, q.account, { from, to, timezone: "UTC" }, "cumulative", "day");
        const { ts: _ts, time: _time, ...last } = cum.points.at(-1)!;
        expect(last).toEqual(model);
        const d = await domainFigures(h.client, q.account, { from, to }, domain);
        for (const row of d) {
          const m = modelFigures(q.account, from, to, row.domain);
          expect(row).toMatchObject({
            recipients: m.recipients,
            delivered: m.delivered,
            softBounces: m.softBounces,
            hardBounces: m.hardBounces,
          });
        }
        if (domain !== undefined && d.length === 0) {
          const m = modelFigures(q.account, from, to, domain);
          expect(m.recipients + m.rejected).toBe(0);
        }
      }),
      { numRuns: 40, seed: 11 },
    );
  });
});
