/**
 * Activity per recipient (A1 as corrected, issue 14): the default view has one row per recipient with
 * its current status, plus the Delivered row of a recipient that bounced after Delivered (seed 003);
 * `view=events` lists every status event; filters apply to the status each row shows; cursor paging;
 * the CSV follows the view; a recipient's timeline is account-scoped. On the real API stack over chDB,
 * with every event inserted twice (the sink's replays must not change a row).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAnalytics } from "../../shared/analytics/service.ts";
import { runCli } from "../../shared/cli/run.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { StatusEvent, statusEventId } from "../../shared/model/event.ts";
import type { RecipientStatus, StatusReason } from "../../shared/model/status.ts";
import { ADMIN_TOKEN, type ApiStack, bearer, call, OPERATOR, startApiStack } from "../api/harness.ts";
import { insertEvents, liftTtl } from "./fixture.ts";

const ACCT = "multi";
const TZ = "Europe/Paris";
const dataDir = mkdtempSync(join(tmpdir(), "petrel-activity-rcpt-"));
let h: ClickHouseHandle;
let stack: ApiStack;
let key: Record<string, string>;
const T0 = Date.parse("2026-11-02T10:00:00Z");
const FROM = "2026-11-01T00:00:00Z";
const TO = "2026-11-05T00:00:00Z";
const RANGE = `from=${FROM}&to=${TO}`;

function ev(
  account: string,
  rid: string,
  to: string,
  status: RecipientStatus,
  minute: number,
  reason: StatusReason = "none",
  attempt = 0,
): StatusEvent {
  const domain = to.split("@")[1]!;
  return StatusEvent.parse({
    eventId: statusEventId(rid, status, attempt),
    accountId: account,
    messageId: `<${rid.split(".")[0]}@mail.example.com>`,
    recipientId: rid,
    recipient: to,
    recipientDomain: domain,
    sender: "news@example.com",
    sendingDomain: "example.com",
    smtpUser: "smtp-1",
    subject: `Hello ${rid.split(".")[0]}`,
    status,
    reason,
    remoteReply: status === "Delivered" ? "250 2.0.0 OK" : reason === "none" ? "" : `550 ${reason}`,
    mxHost: status === "Accepted" ? "" : `mx.${domain}`,
    isTest: false,
    ts: T0 + minute * 60_000,
    attempt,
  });
}

// One message to 5 recipients (p1.0–p1.4): accepted at minute 0, then each its own way.
const TO5 = ["a@one.test", "b@two.test", "c@three.test", "d@four.test", "e@five.test"];
const EVENTS: StatusEvent[] = [
  ...TO5.map((to, i) => ev(ACCT, `p1.${i}`, to, "Accepted", 0)),
  ev(ACCT, "p1.0", TO5[0]!, "Delivered", 1),
  ev(ACCT, "p1.1", TO5[1]!, "Deferred", 1, "greylisted", 0),
  ev(ACCT, "p1.1", TO5[1]!, "Delivered", 20, "none", 1),
  ev(ACCT, "p1.2", TO5[2]!, "Delivered", 2),
  ev(ACCT, "p1.2", TO5[2]!, "HardBounce", 90, "delayed_bounce"), // Delivered, then bounced
  ev(ACCT, "p1.3", TO5[3]!, "Deferred", 3, "remote_temporary", 0),
  ev(ACCT, "p1.4", TO5[4]!, "Pending", 0),
  // Another account's recipient, for the timeline's scoping.
  ev("other", "q1.0", "z@zed.test", "Accepted", 5),
  ev("other", "q1.0", "z@zed.test", "Delivered", 6),
];

type Row = { eventId: string; recipientId: string; status: string };
const ids = (rows: Row[]) => rows.map((r) => `${r.recipientId} ${r.status}`);

beforeAll(async () => {
  h = await openClickHouse({ dataDir, database: "rcpt" });
  await migrate(h.client);
  await liftTtl(h.client);
  // Twice, in other batch boundaries: a replay changes no row.
  await insertEvents(h.client, EVENTS);
  await insertEvents(h.client, EVENTS.slice(3));
  await insertEvents(h.client, EVENTS.slice(0, 3));
  stack = await startApiStack();
  stack.clock.advance(Date.parse(TO) - stack.clock.now());
  stack.control.analytics = createAnalytics(h.client);
  await stack.service.createAccount({ accountId: ACCT, name: "Multi", plan: "starter", timezone: TZ });
  await stack.service.createAccount({ accountId: "other", name: "Other", plan: "starter" });
  const k = await stack.service.createApiKey(ACCT, { scopes: ["activity:read", "stats:read"] });
  key = bearer(k.key);
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await h?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const get = (path: string) => call(stack.app, "get", path, { headers: key });

describe("GET /v1/activity, recipient view (the default)", () => {
  it("a 5-recipient message gives 5 rows with their current status, and a Delivered-then-bounced one gives two", async () => {
    const r = await get(`/v1/activity?${RANGE}`);
    expect(r.status).toBe(200);
    expect(ids(r.body.rows)).toEqual([
      "p1.2 HardBounce", // minute 90
      "p1.1 Delivered", // minute 20
      "p1.3 Deferred", // minute 3
      "p1.2 Delivered", // minute 2: the Delivered row the bounce followed (seed 003)
      "p1.0 Delivered", // minute 1
      "p1.4 Pending", // minute 0: Pending ranks after Accepted at the same millisecond
    ]);
    expect(r.body.rows[0]).toMatchObject({
      eventId: "p1.2:HardBounce:0",
      recipient: "c@three.test",
      reason: "delayed_bounce",
      remoteReply: "550 delayed_bounce",
      mxHost: "mx.three.test",
      time: "2026-11-02T12:30:00.000+01:00",
    });
    expect(r.body.nextCursor).toBeUndefined();
    // Without the bounce's recipient: exactly one row per recipient.
    const five = new Set(r.body.rows.map((x: Row) => x.recipientId));
    expect(five.size).toBe(5);
  });

  it("view=events gives every status event", async () => {
    const r = await get(`/v1/activity?view=events&${RANGE}`);
    expect(r.body.rows).toHaveLength(EVENTS.filter((e) => e.accountId === ACCT).length);
    expect(r.body.rows[0].eventId).toBe("p1.2:HardBounce:0");
  });

  it("filters apply to the status each row shows, not to past statuses", async () => {
    const s = async (q: string) => ids((await get(`/v1/activity?${RANGE}&${q}`)).body.rows);
    // p1.1 was Deferred before it was Delivered: not a Deferred row any more.
    expect(await s("status=Deferred")).toEqual(["p1.3 Deferred"]);
    expect(await s("status=Accepted")).toEqual([]);
    expect(await s("status=HardBounce")).toEqual(["p1.2 HardBounce"]);
    expect(await s("status=Delivered")).toEqual(["p1.1 Delivered", "p1.2 Delivered", "p1.0 Delivered"]);
    expect(await s("recipient=C@Three.test")).toEqual(["p1.2 HardBounce", "p1.2 Delivered"]);
    // The events view still finds the past Deferred of p1.1.
    const ev = (await get(`/v1/activity?view=events&${RANGE}&status=Deferred`)).body.rows;
    expect(ids(ev)).toEqual(["p1.3 Deferred", "p1.1 Deferred"]);
    // A period that holds only the Delivered row of the bounced recipient shows it alone.
    const early = await get(`/v1/activity?from=${FROM}&to=2026-11-02T10:05:00Z&recipient=c@three.test`);
    expect(ids(early.body.rows)).toEqual(["p1.2 Delivered"]);
  });

  it("pages with a cursor, losing or repeating nothing; a cursor of the other view is a 400", async () => {
    const all = ids((await get(`/v1/activity?${RANGE}`)).body.rows);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const p = await get(`/v1/activity?${RANGE}&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(p.status).toBe(200);
      seen.push(...ids(p.body.rows));
      cursor = p.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(all);
    const first = await get(`/v1/activity?${RANGE}&limit=2`);
    const wrong = await get(`/v1/activity?view=events&${RANGE}&cursor=${first.body.nextCursor}`);
    expect({ status: wrong.status, field: wrong.body.field }).toEqual({ status: 400, field: "cursor" });
  });

  it("the CSV export follows the view", async () => {
    const csv = async (q: string) => {
      const res = await stack.app.request(`http://127.0.0.1/v1/activity/export?${RANGE}${q}`, {
        headers: key,
      });
      expect(res.status).toBe(200);
      return (await res.text()).split("\r\n").filter(Boolean);
    };
    const rcpt = await csv("");
    expect(rcpt).toHaveLength(1 + 6);
    expect(rcpt[1]).toMatch(/^2026-11-02T12:30:00\.000\+01:00,HardBounce,c@three\.test,/);
    expect(await csv("&view=events")).toHaveLength(1 + EVENTS.filter((e) => e.accountId === ACCT).length);
    expect(await csv("&status=Deferred")).toHaveLength(2);
  });

  it("the dashboard's last 10 activities are recipient rows", async () => {
    const r = await get("/v1/stats?period=7d");
    expect(r.status).toBe(200);
    expect(ids(r.body.recent)).toEqual(ids((await get(`/v1/activity?${RANGE}`)).body.rows));
  });
});

describe("GET /v1/activity/{recipientId}: the timeline", () => {
  it("lists every status event of the recipient, oldest first, with reason, reply and MX host", async () => {
    const r = await get("/v1/activity/p1.2");
    expect(r.status).toBe(200);
    expect(r.body.recipientId).toBe("p1.2");
    expect(
      r.body.rows.map((x: Row & { reason: string; mxHost: string; remoteReply: string }) => [
        x.status,
        x.reason,
        x.remoteReply,
        x.mxHost,
      ]),
    ).toEqual([
      ["Accepted", "none", "", ""],
      ["Delivered", "none", "250 2.0.0 OK", "mx.three.test"],
      ["HardBounce", "delayed_bounce", "550 delayed_bounce", "mx.three.test"],
    ]);
    const p4 = await get("/v1/activity/p1.4");
    expect(p4.body.rows.map((x: Row) => x.status)).toEqual(["Accepted", "Pending"]);
  });

  it("is account-scoped: another account's recipient id is a 404; the operator reads it through the account", async () => {
    const r = await get("/v1/activity/q1.0");
    expect(r.status).toBe(404);
    expect(r.body.code).toBe("not_found");
    expect((await get("/v1/activity/nope.0")).status).toBe(404);
    const op = await call(stack.app, "get", "/v1/admin/accounts/other/activity/q1.0", { headers: OPERATOR });
    expect(op.status).toBe(200);
    expect(op.body.rows.map((x: Row) => x.status)).toEqual(["Accepted", "Delivered"]);
  });
});

describe("petrel activity (O4), in process against the same API", () => {
  async function petrel(args: string[]) {
    let out = "";
    let err = "";
    const code = await runCli(
      args,
      { PETREL_ADMIN_TOKEN: ADMIN_TOKEN },
      {
        out: (t) => {
          out += t;
        },
        err: (t) => {
          err += t;
        },
        fetch: ((url: string, init?: RequestInit) => stack.app.request(url, init)) as typeof fetch,
      },
    );
    return { code, err, json: () => JSON.parse(out) };
  }
  const range = ["--account", ACCT, "--from", FROM, "--to", TO];

  it("gives one row per recipient by default, every event with --view events", async () => {
    const r = await petrel(["activity", ...range]);
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(ids(r.json().rows)).toEqual([
      "p1.2 HardBounce",
      "p1.1 Delivered",
      "p1.3 Deferred",
      "p1.2 Delivered",
      "p1.0 Delivered",
      "p1.4 Pending",
    ]);
    const e = await petrel(["activity", ...range, "--view", "events"]);
    expect(e.json().rows).toHaveLength(EVENTS.filter((x) => x.accountId === ACCT).length);
    const bad = await petrel(["activity", ...range, "--view", "messages"]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/^petrel: [^\n]*view[^\n]*\n$/);
  });

  it("activity timeline --recipient-id gives the recipient's every event, oldest first", async () => {
    const r = await petrel(["activity", "timeline", "--account", ACCT, "--recipient-id", "p1.1"]);
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(r.json().rows.map((x: Row) => x.status)).toEqual(["Accepted", "Deferred", "Delivered"]);
    const other = await petrel(["activity", "timeline", "--account", ACCT, "--recipient-id", "q1.0"]);
    expect(other.code).not.toBe(0);
    expect(other.err).toMatch(/404/);
  });
});
