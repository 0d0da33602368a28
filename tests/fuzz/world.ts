/**
 * Two tenants on the real API stack (tests/api/harness.ts) with embedded chDB analytics, for the API
 * fuzzer and the tenant isolation property: each account has status events, sending domains, SMTP
 * users, API keys, members and suppressions. Every string of a tenant carries its prefix (`aaa`, `bbb`),
 * so any of B's ids, addresses or names in an answer to A is found by a substring search; B has more
 * recipients than A, so a count that includes B's exceeds A's number of recipients.
 * One world per process (chDB allows one engine per process): `openWorld()` is memoised.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAnalytics } from "../../shared/analytics/service.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { SCOPES } from "../../shared/model/account/protocol.ts";
import { StatusEvent, statusEventId } from "../../shared/model/event.ts";
import type { RecipientStatus } from "../../shared/model/status.ts";
import { domainFixture } from "../account/fixtures.ts";
import { insertEvents, liftTtl } from "../analytics/fixture.ts";
import { type ApiStack, bearer, call, OPERATOR, signIn, startApiStack } from "../api/harness.ts";

/** The clock of the read routes: every event lies in the 30 days before it. */
export const NOW = Date.parse("2026-11-20T12:00:00Z");

export interface Tenant {
  id: string;
  prefix: string;
  /** Authorization header of an API key with every scope. */
  key: Record<string, string>;
  /** Cookie header of its administrator's dashboard session (routes API keys cannot use). */
  session: Record<string, string>;
  recipientIds: string[];
  eventIds: string[];
  domains: string[];
  smtpUsers: string[];
  apiKeyIds: string[];
  suppressions: string[];
  members: string[];
  /** Cursors of this tenant's real pages (both views) and of its suppression list. */
  cursors: string[];
  /** Every string that belongs to this tenant alone. */
  markers: string[];
}

export interface World {
  stack: ApiStack;
  a: Tenant;
  b: Tenant;
  /** Operator token header. */
  operator: Record<string, string>;
  close(): Promise<void>;
}

const OUTCOMES: RecipientStatus[] = ["Delivered", "HardBounce", "Deferred", "SoftBounce", "Rejected"];

function eventsOf(id: string, p: string, n: number): StatusEvent[] {
  const out: StatusEvent[] = [];
  for (let i = 0; i < n; i++) {
    const rid = `${p}m${i}.0`;
    const at = NOW - (i + 1) * 3_600_000;
    const outcome = OUTCOMES[i % OUTCOMES.length]!;
    const statuses: RecipientStatus[] = outcome === "Rejected" ? ["Rejected"] : ["Accepted", outcome];
    statuses.forEach((status, k) => {
      out.push(
        StatusEvent.parse({
          eventId: statusEventId(rid, status, 0),
          accountId: id,
          messageId: `<${p}m${i}@${p}-send.example>`,
          recipientId: rid,
          recipient: `${p}r${i}@${p}-rcpt.example`,
          recipientDomain: `${p}-rcpt.example`,
          sender: `app@${p}-send.example`,
          sendingDomain: `${p}-send.example`,
          smtpUser: `${p}-smtp`,
          subject: `${p} subject ${i}`,
          status,
          reason: status === "Rejected" ? "quota_reached" : "none",
          remoteReply: "",
          mxHost: status === "Accepted" || status === "Rejected" ? "" : `mx.${p}-rcpt.example`,
          isTest: false,
          ts: at + k * 1000,
          attempt: 0,
        }),
      );
    });
  }
  return out;
}

async function tenant(stack: ApiStack, id: string, p: string, n: number): Promise<Tenant> {
  const s = stack.service;
  await s.createAccount({ accountId: id, name: `${p} name`, plan: "starter" });
  const key = await s.createApiKey(id, { label: `${p} key`, scopes: [...SCOPES] });
  const second = await s.createApiKey(id, { label: `${p} reader`, scopes: ["activity:read"] });
  const domains = [`${p}-send.example`, `${p}-news.example`];
  for (const d of domains) await s.addDomain(id, domainFixture(d));
  const smtpUsers = [
    (await s.createSmtpUser(id, { name: `${p} app` })).username,
    (await s.createSmtpUser(id, { name: `${p} cron` })).username,
  ];
  const suppressions = [0, 1, 2].map((i) => `${p}s${i}@${p}-rcpt.example`);
  for (const address of suppressions) await s.addSuppression(id, { address, reason: `${p} reason` });
  const members = [`${p}-admin@${p}-team.example`];
  await s.addMember(id, { email: members[0]!, role: "admin", password: `${p}-password-123` });
  const events = eventsOf(id, p, n);
  const t: Tenant = {
    id,
    prefix: p,
    key: bearer(key.key),
    session: await signIn(stack.app, members[0]!, `${p}-password-123`),
    recipientIds: [...new Set(events.map((e) => e.recipientId))],
    eventIds: events.map((e) => e.eventId),
    domains,
    smtpUsers,
    apiKeyIds: [key.id, second.id],
    suppressions,
    members,
    cursors: [],
    markers: [],
  };
  t.markers = [
    id,
    ...t.recipientIds,
    ...t.eventIds,
    ...domains,
    ...smtpUsers,
    ...t.apiKeyIds,
    ...suppressions,
    ...members,
    `${p}-rcpt.example`,
    `${p} subject`,
    `${p}-smtp`,
  ];
  return Object.assign(t, { events });
}

let opened: Promise<World> | undefined;

export function openWorld(): Promise<World> {
  opened ??= build();
  return opened;
}

async function build(): Promise<World> {
  const dataDir = mkdtempSync(join(tmpdir(), "petrel-fuzz-world-"));
  let h: ClickHouseHandle | undefined;
  let stack: ApiStack | undefined;
  try {
    h = await openClickHouse({ dataDir, database: "fuzz" });
    await migrate(h.client);
    await liftTtl(h.client);
    stack = await startApiStack();
    stack.control.analytics = createAnalytics(h.client);
    stack.control.now = () => NOW;
    const a = await tenant(stack, "tenant-aaa", "aaa", 6);
    const b = await tenant(stack, "tenant-bbb", "bbb", 23);
    for (const t of [a, b]) {
      await insertEvents(h.client, (t as Tenant & { events: StatusEvent[] }).events);
      for (const view of ["recipients", "events"]) {
        const r = await call(stack.app, "get", `/v1/activity?view=${view}&limit=2`, { headers: t.key });
        if (r.status !== 200 || !r.body.nextCursor)
          throw new Error(`no ${view} cursor for ${t.id}: ${r.text}`);
        t.cursors.push(r.body.nextCursor);
      }
      const s = await call(stack.app, "get", "/v1/suppressions?limit=1", { headers: t.key });
      if (!s.body?.next) throw new Error(`no suppression cursor for ${t.id}: ${s.text}`);
      t.cursors.push(s.body.next);
    }
    let closing: Promise<void> | undefined;
    const world: World = {
      stack,
      a,
      b,
      operator: OPERATOR,
      close() {
        // Idempotent: the API fuzzer and the isolation property share the world in a long run.
        closing ??= (async () => {
          await stack?.stop();
          await h?.close();
          rmSync(dataDir, { recursive: true, force: true });
        })();
        return closing;
      },
    };
    return world;
  } catch (e) {
    await stack?.stop();
    await h?.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}
