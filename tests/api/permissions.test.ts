/**
 * The permission matrix (issue 3 acceptance; C2, C5): every route of the route table × every
 * kind of caller gets the status that C2/C5 call for, written below as literal data independent
 * of the route definitions; a refused call changes nothing; no answer to an account's caller
 * carries another account's data. Runs on the real stack (tests/api/harness.ts).
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { V1_ROUTES } from "../../edge-api/v1/index.ts";
import type { RouteEntry } from "../../edge-api/v1/op.ts";
import { eventRow } from "../../shared/analytics/rows.ts";
import { createAnalytics } from "../../shared/analytics/service.ts";
import { type ClickHouseHandle, openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { buildSendingDomain } from "../../shared/domains/build.ts";
import {
  PERMISSIONS,
  type Permission,
  type Role,
  SCOPES,
  type Scope,
} from "../../shared/model/account/protocol.ts";
import { statusEvent } from "../../shared/model/event.ts";
import { type ApiStack, bearer, call, OPERATOR, signIn, startApiStack } from "./harness.ts";

// — C2 and C5 as data —

interface Need {
  /** Member permission; "any" = every member; "admin_or_regular" = the two full roles; null = no member. */
  member: Permission | "any" | "admin_or_regular" | null;
  /** API key scope; "any" = every key; null = no key. */
  scope: Scope | "any" | null;
  /** An SMTP feature: needs an active plan (C2). */
  smtp: boolean;
  ok: 200 | 201 | 204;
  /** The code when the path names a resource of another account (it is not found in the caller's). */
  missing?: string;
}

const n = (
  member: Need["member"],
  scope: Need["scope"],
  smtp: boolean,
  ok: Need["ok"],
  missing?: string,
): Need => ({
  member,
  scope,
  smtp,
  ok,
  ...(missing ? { missing } : {}),
});

const ACCOUNT_ROUTES: Record<string, Need> = {
  "session.get": n("any", "any", false, 200),
  "account.get": n("any", "any", false, 200),
  "plans.list": n("billing", "billing:read", false, 200),
  "account.plan": n("billing", "billing:write", false, 200),
  "account.cancel": n("billing", "billing:write", false, 200),
  "account.billing": n("billing", "billing:read", false, 200),
  "members.list": n("members", null, false, 200),
  "members.add": n("members", null, false, 201),
  "members.update": n("members", null, false, 200, "member_not_found"),
  "members.remove": n("members", null, false, 204, "member_not_found"),
  "smtpUsers.list": n("smtp.users", "users:write", true, 200),
  "smtpUsers.create": n("smtp.users", "users:write", true, 201),
  "smtpUsers.get": n("smtp.users", "users:write", true, 200, "smtp_user_not_found"),
  "smtpUsers.reset": n("smtp.users", "users:write", true, 200, "smtp_user_not_found"),
  "smtpUsers.delete": n("smtp.users", "users:write", true, 204, "smtp_user_not_found"),
  "domains.list": n("smtp.domains", "domains:write", true, 200),
  "domains.add": n("smtp.domains", "domains:write", true, 201),
  "domains.get": n("smtp.domains", "domains:write", true, 200, "domain_not_found"),
  "domains.verify": n("smtp.domains", "domains:write", true, 200, "domain_not_found"),
  "domains.delete": n("smtp.domains", "domains:write", true, 204, "domain_not_found"),
  "apiKeys.list": n("admin_or_regular", null, false, 200),
  "apiKeys.create": n("admin_or_regular", null, false, 201),
  "apiKeys.revoke": n("admin_or_regular", null, false, 204, "api_key_not_found"),
  // Activity and Statistics (issue 6): "Access SMTP activities", scopes activity:read / stats:read.
  "activity.search": n("smtp.activity", "activity:read", true, 200),
  "activity.export": n("smtp.activity", "activity:read", true, 200),
  "activity.timeline": n("smtp.activity", "activity:read", true, 200, "not_found"),
  "stats.get": n("smtp.activity", "stats:read", true, 200),
  "stats.domain": n("smtp.activity", "stats:read", true, 200),
  "quota.get": n("any", "any", false, 200),
  // Suppression list (D8): permission smtp.suppressions (admin and regular hold it), scope
  // suppressions:write; an SMTP feature. Another account's address is simply not on the list.
  "suppressions.list": n("smtp.suppressions", "suppressions:write", true, 200),
  "suppressions.add": n("smtp.suppressions", "suppressions:write", true, 201),
  "suppressions.remove": n("smtp.suppressions", "suppressions:write", true, 204, "not_found"),
  "suppressions.lift": n("smtp.suppressions", "suppressions:write", true, 200),
};
/** The operator's mirrors of account routes, `admin.<id>`. */
const MIRRORED = Object.keys(ACCOUNT_ROUTES).filter((id) => id !== "session.get" && id !== "plans.list");
const OPERATOR_ROUTES: Record<string, 200 | 201> = {
  "admin.accounts.create": 201,
  "admin.plans.list": 200,
  "admin.zone": 200,
};
/** Sign-in and sign-out: any caller (tests/api/session.test.ts). */
const PUBLIC_ROUTES = ["session.create", "session.delete"];

/** C2 in words: admin everything; regular everything but billing and members; custom its own. */
function memberHolds(role: Role, perms: readonly Permission[], p: Permission): boolean {
  if (role === "admin") return true;
  if (role === "regular") return p !== "billing" && p !== "members";
  return perms.includes(p);
}

// — the callers —

type AccountName = "A" | "B" | "C";
interface Caller {
  name: string;
  kind: "member" | "key" | "operator" | "none" | "invalid";
  /** The account the credential belongs to. */
  account?: AccountName;
  role?: Role;
  perms?: Permission[];
  scopes?: Scope[];
  headers: Record<string, string>;
}

const IDS: Record<AccountName, string> = { A: "acct-a-victim", B: "acct-b-other", C: "acct-c-inactive" };
const MAIL: Record<AccountName, string> = { A: "a-victim.test", B: "b-other.test", C: "c-inactive.test" };

let stack: ApiStack;
const callers: Caller[] = [];
/** Identifiers that only one account's answers may contain. */
const markers: Record<AccountName, Set<string>> = { A: new Set(), B: new Set(), C: new Set() };
let seq = 0;

function mark(account: AccountName, ...values: string[]): void {
  for (const v of values) markers[account].add(v);
}

async function member(account: AccountName, role: Role, perms: Permission[], name: string): Promise<Caller> {
  const local = name
    .replace(/\+/g, "with-")
    .replace(/:-/g, ":without-")
    .replace(/[^a-z0-9-]+/gi, "-");
  const email = `${local.toLowerCase()}@${MAIL[account]}`;
  const password = `pw-${name}-0123456789`;
  await stack.service.addMember(IDS[account], { email, role, permissions: perms, password });
  return { name, kind: "member", account, role, perms, headers: await signIn(stack.app, email, password) };
}

async function key(account: AccountName, scopes: Scope[], name: string): Promise<Caller> {
  const k = await stack.service.createApiKey(IDS[account], { scopes, label: name });
  mark(account, k.id);
  return { name, kind: "key", account, scopes, headers: bearer(k.key) };
}

let clickhouse: ClickHouseHandle | undefined;

beforeAll(async () => {
  stack = await startApiStack();
  // The analytics routes read ClickHouse: an empty chDB store in this test's data dir.
  clickhouse = await openClickHouse({ dataDir: join(tmpdir(), `petrel-perm-ch-${process.pid}`) });
  await migrate(clickhouse.client);
  stack.control.analytics = createAnalytics(clickhouse.client);
  for (const a of ["A", "B", "C"] as const) {
    await stack.service.createAccount({ accountId: IDS[a], name: `Account ${a}`, plan: "starter" });
    mark(a, IDS[a], MAIL[a]);
  }
  await stack.service.setStatus(IDS.C, "suspended");

  callers.push(await member("A", "admin", [], "admin"), await member("A", "regular", [], "regular"));
  callers.push(await member("A", "custom", [], "custom:none"));
  for (const p of PERMISSIONS) {
    callers.push(await member("A", "custom", [p], `custom:+${p}`));
    callers.push(
      await member(
        "A",
        "custom",
        PERMISSIONS.filter((x) => x !== p),
        `custom:-${p}`,
      ),
    );
  }
  callers.push(await key("A", [], "key:none"));
  for (const s of SCOPES) {
    callers.push(await key("A", [s], `key:+${s}`));
    callers.push(
      await key(
        "A",
        SCOPES.filter((x) => x !== s),
        `key:-${s}`,
      ),
    );
  }
  callers.push(await member("B", "admin", [], "other:admin"), await key("B", [...SCOPES], "other:key"));
  callers.push(await member("C", "admin", [], "inactive:admin"), await key("C", [...SCOPES], "inactive:key"));
  callers.push({ name: "operator", kind: "operator", headers: OPERATOR });
  callers.push({ name: "none", kind: "none", headers: {} });
  const revoked = await stack.service.createApiKey(IDS.A, { scopes: [...SCOPES] });
  await stack.service.revokeApiKey(IDS.A, revoked.id);
  callers.push({ name: "revoked:key", kind: "invalid", headers: bearer(revoked.key) });
  callers.push({ name: "bad:bearer", kind: "invalid", headers: bearer("not-the-operator-token-000000") });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await clickhouse?.close();
  if (clickhouse?.path) rmSync(dirname(clickhouse.path), { recursive: true, force: true });
});

// — expectations —

interface Expected {
  status: number;
  code?: string;
}

function baseId(row: RouteEntry): string {
  return row.admin ? row.id.slice("admin.".length) : row.id;
}

function expected(row: RouteEntry, c: Caller): Expected {
  if (row.admin || row.id in OPERATOR_ROUTES) {
    const ok = row.admin ? ACCOUNT_ROUTES[baseId(row)]!.ok : OPERATOR_ROUTES[row.id]!;
    if (c.kind === "operator") return { status: ok };
    if (c.kind === "none" || c.kind === "invalid") return { status: 401, code: "unauthenticated" };
    return { status: 403, code: "forbidden" };
  }
  const need = ACCOUNT_ROUTES[row.id]!;
  if (c.kind === "none" || c.kind === "invalid") return { status: 401, code: "unauthenticated" };
  if (c.kind === "operator") return { status: 403, code: "forbidden" };
  const allowed =
    c.kind === "member"
      ? need.member === "any" ||
        (need.member === "admin_or_regular"
          ? c.role === "admin" || c.role === "regular"
          : need.member !== null && memberHolds(c.role!, c.perms!, need.member))
      : need.scope === "any" || (need.scope !== null && c.scopes!.includes(need.scope));
  if (!allowed) return { status: 403, code: "forbidden" };
  if (need.smtp && c.account === "C") return { status: 403, code: "plan_inactive" };
  if (c.account === "B" && need.missing) return { status: 404, code: need.missing };
  return { status: need.ok };
}

// — fixtures: what each route needs in the path and body —

const sentinels = new Map<string, Record<string, string>>();

/** A resource in `account` for a route that names one: fresh when the call will change it. */
async function resource(id: string, account: AccountName, fresh: boolean): Promise<Record<string, string>> {
  const cacheKey = `${id}:${account}`;
  if (!fresh && sentinels.has(cacheKey)) return sentinels.get(cacheKey)!;
  const acc = IDS[account];
  let params: Record<string, string> = {};
  if (id.startsWith("members.")) {
    const email = `m${++seq}@${MAIL[account]}`;
    await stack.service.addMember(acc, { email, role: "regular" });
    params = { email };
  } else if (id.startsWith("smtpUsers.")) {
    const u = await stack.service.createSmtpUser(acc, { name: "fixture" });
    mark(account, u.username);
    params = { username: u.username };
  } else if (id.startsWith("domains.")) {
    const domain = `d${++seq}.${MAIL[account]}`;
    const d = await buildSendingDomain({
      domain,
      provider: "petrel.test",
      now: stack.clock.now(),
      algorithm: "ed25519-sha256",
    });
    await stack.service.addDomain(acc, d);
    mark(account, d.id);
    params = { domain };
  } else if (id.startsWith("suppressions.")) {
    const address = `s${++seq}@${MAIL[account]}`;
    await stack.service.addSuppression(acc, { address, reason: "fixture" });
    params = { address };
  } else if (id === "activity.timeline") {
    // One recipient of the account in ClickHouse, with one Accepted event (real time: the 90-day TTL
    // drops older rows at insert).
    const recipientId = `rcpt${++seq}${account.toLowerCase()}.0`;
    await clickhouse!.client.insert({
      table: "events",
      format: "JSONEachRow",
      values: [
        eventRow(
          statusEvent(
            {
              accountId: acc,
              messageId: `<${recipientId}@${MAIL[account]}>`,
              recipientId,
              recipient: `to@${MAIL[account]}`,
              recipientDomain: MAIL[account],
              sender: `from@${MAIL[account]}`,
              sendingDomain: MAIL[account],
              smtpUser: "matrix",
              subject: "matrix",
              isTest: false,
            },
            {
              status: "Accepted",
              reason: "none",
              remoteReply: "",
              mxHost: "",
              attempt: 0,
              ts: Date.now(),
            },
          ),
        ),
      ],
    });
    params = { recipientId };
  } else if (id.startsWith("apiKeys.")) {
    const k = await stack.service.createApiKey(acc, { scopes: [] });
    mark(account, k.id);
    params = { id: k.id };
  }
  if (!fresh) sentinels.set(cacheKey, params);
  return params;
}

async function bodyFor(id: string, account: AccountName): Promise<unknown> {
  switch (id) {
    case "account.plan": {
      const current = (await stack.service.getAccount(IDS[account])).plan;
      return { plan: current === "pro" ? "starter" : "pro" };
    }
    case "members.add":
      return { email: `new${++seq}@${MAIL[account]}`, role: "regular" };
    case "members.update":
      return { role: "custom", permissions: ["smtp.activity"] };
    case "smtpUsers.create":
      return { name: "matrix" };
    case "domains.add":
      return { domain: `add${++seq}.${MAIL[account]}` };
    case "domains.verify":
      return {};
    case "apiKeys.create":
      return { scopes: [] };
    case "suppressions.add":
      return { address: `add${++seq}@${MAIL[account]}`, reason: "matrix" };
    case "suppressions.lift":
      // Matches nothing the matrix adds (manual entries have no class): a refused call changes nothing.
      return { class: "policy" };
    case "admin.accounts.create":
      return { name: "Created by the operator", plan: "free" };
    default:
      return undefined;
  }
}

const NAMED = /\{(\w+)\}/g;

async function snapshot(): Promise<string> {
  const states = await Promise.all((["A", "B", "C"] as const).map((a) => stack.service.state(IDS[a])));
  const suppressed = await Promise.all(
    (["A", "B", "C"] as const).map((a) => stack.service.listSuppressions(IDS[a], { limit: 1000 })),
  );
  return JSON.stringify([states, suppressed]);
}

// — the matrix —

describe("route table", () => {
  it("names every route in C2/C5's table above, and nothing else", () => {
    const known = new Set([
      ...Object.keys(ACCOUNT_ROUTES),
      ...MIRRORED.map((id) => `admin.${id}`),
      ...Object.keys(OPERATOR_ROUTES),
      ...PUBLIC_ROUTES,
    ]);
    const served = new Set(V1_ROUTES.map((r) => r.id));
    expect([...served].filter((id) => !known.has(id))).toEqual([]);
    expect([...known].filter((id) => !served.has(id))).toEqual([]);
  });
});

describe("permission matrix", () => {
  for (const row of V1_ROUTES.filter((r) => !PUBLIC_ROUTES.includes(r.id))) {
    it(`${row.method.toUpperCase()} ${row.path} (${row.id})`, async () => {
      const mismatches: string[] = [];
      for (const c of callers) {
        const want = expected(row, c);
        const success = want.status < 300;
        const id = baseId(row);
        // Whose data the path names: the operator's mirrors and every caller but B's act on A;
        // B's callers get A's resources, to prove they cannot reach them.
        const owner: AccountName =
          row.admin || c.account === undefined || c.account === "B" ? "A" : c.account;
        const params: Record<string, string> = row.path.includes("{")
          ? { ...(await resource(id, owner, success)), accountId: IDS.A }
          : {};
        const path = row.path.replace(NAMED, (_, k: string) => encodeURIComponent(params[k] ?? "missing"));
        const bodyAccount: AccountName = row.admin ? "A" : (c.account ?? "A");
        const body =
          row.method === "get" || row.method === "delete" ? undefined : await bodyFor(id, bodyAccount);
        const before = success ? "" : await snapshot();
        const r = await call(stack.app, row.method, path, {
          headers: c.headers,
          ...(body !== undefined ? { body } : {}),
        });
        const got = `${r.status}${r.body?.code ? ` ${r.body.code}` : ""}`;
        const wanted = `${want.status}${want.code ? ` ${want.code}` : ""}`;
        if (got !== wanted)
          mismatches.push(`${c.name}: got ${got} (${r.text.slice(0, 120)}), want ${wanted}`);
        if (!success && (await snapshot()) !== before)
          mismatches.push(`${c.name}: a refused call changed state`);
        if (r.status < 300 && c.account && !row.admin && !(row.id in OPERATOR_ROUTES)) {
          for (const other of ["A", "B", "C"] as const) {
            if (other === c.account) continue;
            const leaked = [...markers[other]].find((m) => r.text.includes(m));
            if (leaked) mismatches.push(`${c.name}: the answer carries ${leaked} of account ${other}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
    }, 180_000);
  }
});
