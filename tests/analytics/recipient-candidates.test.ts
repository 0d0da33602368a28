/**
 * The recipient view's candidate path (shared/analytics/activity.ts `searchRecipients`): pages found
 * among the recipients of the newest k events must be exactly the pages of the whole-account read.
 * Random histories (fast-check, fixed seed) of a few hundred recipients — several events each, ties at
 * one millisecond, Delivered followed by a bounce, events replayed — paged to the end with tiny
 * candidate sizes (k = 2, 8, 32, then the whole account) and compared, page by page, with k = 0 (the
 * whole account at once), for several filters and page sizes. On chDB.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ActivityFilter, type CandidateSizes, searchActivity } from "../../shared/analytics/activity.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { StatusEvent, statusEventId } from "../../shared/model/event.ts";
import type { RecipientStatus } from "../../shared/model/status.ts";
import { insertEvents, liftTtl } from "./fixture.ts";

const ACCT = "cand";
const T0 = Date.parse("2026-11-02T10:00:00Z");
const dataDir = mkdtempSync(join(tmpdir(), "petrel-rcpt-cand-"));
let h: ClickHouseHandle;

const PATHS: RecipientStatus[][] = [
  ["Accepted", "Pending", "Delivered"],
  ["Accepted", "Pending", "Deferred", "Delivered"],
  ["Accepted", "Pending", "Delivered", "HardBounce"],
  ["Accepted", "Pending", "Delivered", "SoftBounce"],
  ["Accepted", "Pending", "Deferred", "SoftBounce"],
  ["Accepted", "Pending"],
  ["Rejected"],
];

const history = fc.array(
  fc.record({
    path: fc.integer({ min: 0, max: PATHS.length - 1 }),
    start: fc.integer({ min: 0, max: 3 * 86_400_000 }),
    // Small steps make ties at one millisecond and interleavings between recipients.
    steps: fc.array(fc.integer({ min: 0, max: 40_000 }), { minLength: 4, maxLength: 4 }),
    to: fc.constantFrom("a@one.test", "b@two.test", "c@one.test", "d@three.test"),
    replay: fc.boolean(),
  }),
  { minLength: 250, maxLength: 250 },
);

function gen(): StatusEvent[] {
  const [specs] = fc.sample(history, { seed: 20261206, numRuns: 1 });
  const out: StatusEvent[] = [];
  specs!.forEach((r, i) => {
    // Recipient ids start with the accept time, as Petrel's do (ingress/ids.ts).
    const rid = `${(T0 + r.start).toString(36).padStart(10, "0")}${String(i).padStart(4, "0")}.0`;
    let ts = T0 + r.start;
    PATHS[r.path]!.forEach((status, j) => {
      if (j > 0) ts += r.steps[j - 1] ?? 0;
      const e = StatusEvent.parse({
        eventId: statusEventId(rid, status, j),
        accountId: ACCT,
        messageId: `<m${i}@example.com>`,
        recipientId: rid,
        recipient: r.to,
        recipientDomain: r.to.split("@")[1],
        sender: i % 3 === 0 ? "news@example.com" : "app@example.com",
        sendingDomain: "example.com",
        smtpUser: "smtp-1",
        subject: `Order ${i % 7}`,
        status,
        reason: status === "Deferred" ? "greylisted" : status.endsWith("Bounce") ? "unknown_user" : "none",
        remoteReply: "",
        mxHost: "",
        isTest: false,
        ts,
        attempt: j,
      });
      out.push(e);
      if (r.replay) out.push(e);
    });
  });
  return out;
}

beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "cand" });
  await migrate(h.client);
  await liftTtl(h.client);
  const all = gen();
  // In several inserts: several parts, as the sink makes them.
  for (let i = 0; i < all.length; i += 300) await insertEvents(h.client, all.slice(i, i + 300));
}, 120_000);

afterAll(async () => {
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every page to the end: the row keys of each page. */
async function pages(f: ActivityFilter, sizes: CandidateSizes): Promise<string[][]> {
  const out: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 500; i++) {
    const page = await searchActivity(h.client, ACCT, { ...f, ...(cursor ? { cursor } : {}) }, "UTC", sizes);
    out.push(page.rows.map((r) => `${r.recipientId} ${r.status} ${r.ts}`));
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error("more than 500 pages");
}

const WINDOW = { from: T0 - 86_400_000, to: T0 + 5 * 86_400_000 };
const CASES: [string, ActivityFilter][] = [
  ["no filter, 7 a page", { ...WINDOW, limit: 7 }],
  ["no filter, 50 a page", { ...WINDOW, limit: 50 }],
  ["status Delivered", { ...WINDOW, limit: 9, status: ["Delivered"] }],
  ["status HardBounce or Rejected", { ...WINDOW, limit: 5, status: ["HardBounce", "Rejected"] }],
  ["recipient, any case", { ...WINDOW, limit: 6, recipient: "A@ONE.test" }],
  ["sender and subject", { ...WINDOW, limit: 4, sender: "news@example.com", subject: "order 3" }],
  ["a narrower window", { from: T0 + 86_400_000, to: T0 + 2 * 86_400_000, limit: 8 }],
];

describe("recipient view: the candidate path gives the whole-account pages", () => {
  for (const [name, f] of CASES) {
    it(name, async () => {
      const whole = await pages(f, { first: 0, max: 0 });
      expect(whole.flat().length).toBeGreaterThan(0);
      for (const sizes of [
        { first: 2, max: 32 },
        { first: 8, max: 8 },
        { first: 1_024, max: 65_536 },
      ])
        expect(await pages(f, sizes)).toEqual(whole);
    }, 120_000);
  }
});
