/**
 * The edge directory end to end on chDB (issue 6, X3, C5, A7): the relay's writer
 * (shared/analytics/edge-directory.ts) follows a real account actor stack, and the edge app
 * (edge-api/edge.ts, `directoryKeys`) reads the rows it wrote:
 *  - a key created through AccountService answers /v1/activity at the edge; once revoked it gets 401
 *    without restarting anything (after the edge's bounded lookup cache expires);
 *  - /v1/quota at the edge equals the relay's /v1/quota (the account actor's counter) after accepted,
 *    sandbox, late-refused and quota-refused recipients. Fixture: the actor's real reservations
 *    (ingress's AccountPort) plus the matching Accepted/Rejected events inserted into `events`;
 *  - a plan change reaches the edge through `account.events`; a second writer replaying everything
 *    changes nothing (idempotent on replay).
 */
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccountBehavior } from "../../actors/account/behavior.ts";
import { AccountService } from "../../actors/account/service.ts";
import { ManualClock } from "../../actors/clock.ts";
import { createSessionBehavior } from "../../actors/session/behavior.ts";
import { SessionService } from "../../actors/session/service.ts";
import { ActorSystem } from "../../actors/system.ts";
import { createApp } from "../../edge-api/app.ts";
import { createControl } from "../../edge-api/control.ts";
import { createEdgeApp, directoryKeys } from "../../edge-api/edge.ts";
import { actorAccountPort } from "../../ingress/account-port.ts";
import type { QueryClient } from "../../shared/analytics/client.ts";
import { type EdgeDirectoryWriter, startEdgeDirectory } from "../../shared/analytics/edge-directory.ts";
import { CACHE_MAX, CACHE_MAX_MS, ttlCache } from "../../shared/analytics/edge-reads.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { DirectoryView } from "../../shared/directory/view.ts";
import { createResolver } from "../../shared/domains/verify.ts";
import type { Plan } from "../../shared/model/account/protocol.ts";
import { StatusEvent, statusEventId } from "../../shared/model/event.ts";
import type { RecipientStatus, StatusReason } from "../../shared/model/status.ts";
import { tampered } from "../helpers/secrets.ts";
import { waitFor } from "../helpers/wait.ts";
import { insertEvents, liftTtl } from "./fixture.ts";

const PARTITIONS = 4;
const ADMIN = "operator-token-for-edge-directory-01";
const HMAC = new Uint8Array(32).fill(7);
const PLANS: Plan[] = [
  { name: "free", monthlyRecipients: 100, priceCents: 0, currency: "USD" },
  { name: "starter", monthlyRecipients: 1_000, priceCents: 1_500, currency: "USD" },
];
const ACC = "acc_edgedir";
const OTHER = "acc_other";

const dir = mkdtempSync(join(tmpdir(), "petrel-edge-dir-"));
const clock = new ManualClock(Date.UTC(2026, 2, 10, 12));
/** The edge's own clock for its lookup cache (the relay's clock drives the actors). */
let edgeTime = 0;
const writerErrors: unknown[] = [];
let h: ClickHouseHandle;
let bus: LogBus;
let system: ActorSystem;
let directory: DirectoryView;
let service: AccountService;
let writer: EdgeDirectoryWriter;
let relay: ReturnType<typeof createApp>;
let edge: ReturnType<typeof createEdgeApp>;

async function closedUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  h = await openClickHouse({ dataDir: join(dir, "ch"), database: "edge_dir" });
  await migrate(h.client);
  await liftTtl(h.client);
  bus = await LogBus.open({ dir: join(dir, "bus"), maintenanceIntervalMs: 0 });
  system = new ActorSystem({ bus, nodeId: "local", clock, partitions: PARTITIONS, localAsk: true });
  system.register(createAccountBehavior({ partitions: PARTITIONS, retentionDays: 30, reverifyHours: 24 }));
  system.register(createSessionBehavior()); // C2: dashboard sessions
  await system.start();
  await waitFor(() => system.ownedPartitions("account").length === PARTITIONS, { what: "partitions" });
  directory = await DirectoryView.open({ bus, nodeId: "local" });
  service = new AccountService({
    actors: system,
    plans: PLANS,
    hmacKey: HMAC,
    directory,
    clock,
    connection: { server: "smtp.petrel.test", ports: [{ port: 587, encryption: "STARTTLS" }] },
  });
  const control = createControl({
    accounts: service,
    actors: system,
    directory,
    resolver: createResolver({ servers: [`127.0.0.1:${await closedUdpPort()}`], timeoutMs: 500, tries: 1 }),
    clock,
    zone: { provider: "petrel.test" },
    adminToken: ADMIN,
    sessions: new SessionService({ actors: system, accounts: service, now: () => clock.now() }),
  });
  relay = createApp({ version: "test", readiness: () => ({ ready: true, checks: {} }), control });
  writer = await startEdgeDirectory({
    bus,
    client: h.client,
    partitions: PARTITIONS,
    nodeId: "local",
    accounts: service,
  });
  const client = h.client as unknown as QueryClient;
  edge = createEdgeApp({
    client,
    authenticate: directoryKeys({ client, hmacKey: HMAC, cacheMs: 5_000, now: () => edgeTime }),
    now: () => clock.now(),
  });
}, 180_000);

afterAll(async () => {
  await writer?.close();
  await directory?.close();
  await system?.stop();
  await bus?.close();
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (
  app: { request(u: string, i?: RequestInit): Response | Promise<Response> },
  path: string,
  key: string,
) => {
  const res = await app.request(`http://127.0.0.1${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

let seq = 0;
function ev(
  rid: string,
  status: RecipientStatus,
  o: { reason?: StatusReason; test?: boolean; at?: number; account?: string } = {},
) {
  return StatusEvent.parse({
    eventId: statusEventId(rid, status, 0),
    accountId: o.account ?? ACC,
    messageId: `<${rid.split(".")[0]}@mail.acme.com>`,
    recipientId: rid,
    recipient: `r${seq++}@${o.test ? "sandbox.petrel.test" : "example.org"}`,
    recipientDomain: o.test ? "sandbox.petrel.test" : "example.org",
    sender: "billing@acme.com",
    sendingDomain: "acme.com",
    smtpUser: "ptl_edge",
    subject: "Edge",
    status,
    reason: o.reason ?? "none",
    remoteReply: "",
    mxHost: "",
    isTest: o.test ?? false,
    ts: o.at ?? clock.now(),
    attempt: 0,
  });
}
const accepted = (msg: string, n: number, o: { test?: boolean; at?: number; account?: string } = {}) =>
  Array.from({ length: n }, (_, i) => ev(`${msg}.${i}`, "Accepted", o));

describe("edge directory (chDB, real account actors)", () => {
  let key = "";
  let keyId = "";

  it("authenticates a key created through AccountService and serves /v1/activity at the edge", async () => {
    await service.createAccount({ accountId: ACC, name: "Edge Co", plan: "free", timezone: "Europe/Paris" });
    await service.createAccount({ accountId: OTHER, name: "Other", plan: "free" });
    const k = await service.createApiKey(ACC, { scopes: ["activity:read", "stats:read"] });
    key = k.key;
    keyId = k.id;
    await insertEvents(h.client, [...accepted("m1", 2), ...accepted("o1", 1, { account: OTHER })]);
    const r = await waitFor(
      async () => {
        const x = await get(edge, "/v1/activity", key);
        return x.status === 200 ? x : undefined;
      },
      { what: "the key at the edge" },
    );
    const rows = r.body.rows as { eventId: string; time: string }[];
    expect(rows.map((x) => x.eventId).sort()).toEqual(["m1.0:Accepted:0", "m1.1:Accepted:0"]);
    expect(rows[0]!.time).toMatch(/\+01:00$/); // the account's zone, from edge_accounts
    expect((await get(edge, "/v1/activity", tampered(key))).status).toBe(401);
  });

  it("answers 401 once the key is revoked, without a restart (after the bounded lookup cache)", async () => {
    await service.revokeApiKey(ACC, keyId);
    await waitFor(
      async () => {
        const rs = await h.client.query({
          query: "SELECT revoked FROM edge_api_keys FINAL WHERE key_id = {id:String}",
          query_params: { id: keyId },
          format: "JSONEachRow",
        });
        const [row] = await rs.json<{ revoked: number }>();
        return row?.revoked === 1;
      },
      { what: "the revoked row" },
    );
    // Still inside the edge's 5 s cache: the documented bound, not a leak.
    expect((await get(edge, "/v1/activity", key)).status).toBe(200);
    edgeTime += 5_000;
    expect((await get(edge, "/v1/activity", key)).body).toMatchObject({ code: "unauthenticated" });
    expect((await get(relay, "/v1/activity", key)).status).toBe(401);
  });

  it("serves /v1/quota equal to the relay's after accepted, sandbox and refused recipients", async () => {
    const k = await service.createApiKey(ACC, { scopes: ["activity:read"] });
    const port = actorAccountPort(system, {
      sessionLeaseMs: 60_000,
      sessionsPerUser: 10,
      sessionsPerAccount: 20,
    });
    const both = async () => {
      await waitFor(async () => (await get(edge, "/v1/quota", k.key)).status === 200, { what: "quota" });
      return [(await get(edge, "/v1/quota", k.key)).body, (await get(relay, "/v1/quota", k.key)).body];
    };
    // m1 above: 2 recipients accepted without a reservation: reserve them now, as ingress would have.
    expect((await port.reserve(ACC, 2)).granted).toBe(2);
    // 83 accepted; an earlier period's Accepted event does not count.
    expect((await port.reserve(ACC, 83)).granted).toBe(83);
    await insertEvents(h.client, [
      ...accepted("m2", 83),
      ...accepted("old", 4, { at: Date.UTC(2026, 1, 20) }),
    ]);
    // 3 sandbox recipients (S14): accepted, never reserved, never counted.
    await insertEvents(h.client, accepted("sb", 3, { test: true }));
    // 1 reserved then refused later in the transaction: released, a Rejected event.
    const late = await port.reserve(ACC, 1);
    await port.release(ACC, 1, late.periodStart);
    await insertEvents(h.client, [ev("m3.0", "Rejected", { reason: "attachment_not_allowed" })]);
    let [e, r] = await both();
    expect(r).toMatchObject({ used: 85, limit: 100, percent: 85, band: "orange" });
    expect(e).toEqual(r);
    // 15 left: 18 asked, 15 granted, 3 refused (quota_reached, Rejected events).
    const g = await port.reserve(ACC, 18);
    expect(g.granted).toBe(15);
    await insertEvents(h.client, [
      ...accepted("m4", 15),
      ...[0, 1, 2].map((i) => ev(`m4.${15 + i}`, "Rejected", { reason: "quota_reached" })),
    ]);
    [e, r] = await both();
    expect(r).toMatchObject({ used: 100, limit: 100, percent: 100, band: "red" });
    expect(e).toEqual(r);
    // docs/clickhouse.md's quota example (A8) gives the same figures on the same rows.
    const doc = readFileSync(resolve(import.meta.dirname, "../../docs/clickhouse.md"), "utf8");
    const sql = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)]
      .map((m) => m[1]!.trim().replace(/;$/, ""))
      .find((q) => q.includes("AS p_limit"))!;
    const rs = await h.client.query({ query: sql.replaceAll("acct-123", ACC), format: "JSONEachRow" });
    expect(
      (await rs.json<Record<string, string | number>>()).map((x) => Object.values(x).map(Number)),
    ).toEqual([[100, 100, 100]]);
  });

  it("follows a plan change through account.events, and a replaying writer changes nothing", async () => {
    const k = await service.createApiKey(ACC, { scopes: [] });
    await service.changePlan(ACC, "starter");
    const e = await waitFor(
      async () => {
        const x = await get(edge, "/v1/quota", k.key);
        return x.body.limit === 1_000 ? x.body : undefined;
      },
      { what: "the new limit at the edge" },
    );
    expect(e).toEqual((await get(relay, "/v1/quota", k.key)).body);
    expect(e).toMatchObject({ used: 100, percent: 10, band: "blue" });

    const count = async () => {
      const rs = await h.client.query({
        query: `SELECT (SELECT count() FROM edge_api_keys FINAL) AS keys,
                       (SELECT countIf(revoked = 1) FROM edge_api_keys FINAL) AS revoked,
                       (SELECT count() FROM edge_accounts FINAL) AS accounts`,
        format: "JSONEachRow",
      });
      const [row] = await rs.json<Record<string, string | number>>();
      return Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)]));
    };
    const before = await count();
    expect(before).toEqual({ keys: 3, revoked: 1, accounts: 2 });
    const again = await startEdgeDirectory({
      bus,
      client: h.client,
      partitions: PARTITIONS,
      nodeId: "other",
      accounts: service,
    });
    await again.flush();
    await again.close();
    expect(await count()).toEqual(before);
    edgeTime += 5_000;
    expect((await get(edge, "/v1/activity", key)).status).toBe(401);
    expect((await get(edge, "/v1/quota", k.key)).body).toEqual(e);
    expect(writerErrors).toEqual([]);
  });
});

describe("edge directory writer, store failures", () => {
  it("reports a failed insert, keeps its rows queued and writes them later; the subscription goes on", async () => {
    const errors: unknown[] = [];
    let failures = 1;
    const flaky = {
      insert: ((params: Parameters<typeof h.client.insert>[0]) => {
        if (failures-- > 0) return Promise.reject(new Error("store down"));
        return h.client.insert(params);
      }) as typeof h.client.insert,
    };
    await writer.close(); // only the flaky writer below writes from here on
    await h.client.command({ query: "TRUNCATE TABLE edge_api_keys" });
    const w = await startEdgeDirectory({
      bus,
      client: flaky,
      partitions: PARTITIONS,
      nodeId: "flaky",
      accounts: service,
      retryMs: 50,
      onError: (e) => errors.push(e),
    });
    try {
      expect(errors.map(String)).toEqual(["Error: store down"]);
      const k = await service.createApiKey(OTHER, { scopes: ["stats:read"] });
      const keyRows = async () => {
        const rs = await h.client.query({
          query: "SELECT key_id FROM edge_api_keys FINAL ORDER BY key_id",
          format: "JSONEachRow",
        });
        return (await rs.json<{ key_id: string }>()).map((r) => r.key_id);
      };
      // The 3 keys replayed at start (their first insert failed) and the new one.
      await waitFor(async () => (await keyRows()).length === 4, { what: "the keys after the failure" });
      expect(await keyRows()).toContain(k.id);
    } finally {
      await w.close();
    }
  });
});

describe("the edge's lookup cache", () => {
  it("keeps rows found for at most the TTL (clamped to 30 s), never a miss, and at most CACHE_MAX entries", async () => {
    let t = 0;
    let loads = 0;
    const load = (v: string | undefined) => async () => {
      loads++;
      return v;
    };
    const cache = ttlCache<string | undefined>(60_000, () => t);
    expect(await cache("a", load("row"))).toBe("row");
    t = CACHE_MAX_MS - 1;
    expect(await cache("a", load("changed"))).toBe("row");
    t = CACHE_MAX_MS;
    expect(await cache("a", load("changed"))).toBe("changed");
    expect(await cache("b", load(undefined))).toBeUndefined();
    expect(await cache("b", load("created"))).toBe("created");
    expect(loads).toBe(4);
    for (let i = 0; i <= CACHE_MAX; i++) await cache(`k${i}`, load("x"));
    loads = 0;
    await cache("a", load("evicted")); // the oldest entry went first
    await cache(`k${CACHE_MAX}`, load("y"));
    expect(loads).toBe(1);
  });
});
