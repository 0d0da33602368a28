/**
 * The operator CLI of O4 end to end: `petrel` (the package bin) against a running `npm start`,
 * the operator token read from the relay's data dir, DNS verification against a real DNS server
 * (Knot, tests/dns/server.ts) on loopback. JSON on stdout; a failure is one line on stderr and a
 * non-zero exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DnsServer,
  dnsServerMissing,
  requireDnsServer,
  startDnsServer,
  testZone,
} from "../dns/server.ts";
import { freePort } from "../helpers/ports.ts";
import { type CliRun, petrel, type RunningRelay, startRelayProcess } from "./relay.ts";

const PROVIDER = "petrel.test";
const withDns = requireDnsServer("CLI domain verification by DNS (tests/cli/cli.test.ts)");

let relay: RunningRelay;
let dns: DnsServer | undefined;
/** The CLI's environment: the relay's data dir (for the token) and HTTP port (for the default --api). */
let env: Record<string, string>;
let accountId: string;

async function ok(args: string[]): Promise<CliRun> {
  const r = await petrel(args, env);
  if (r.code !== 0) throw new Error(`petrel ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe("");
  return r;
}

/** A failure: nothing on stdout, exactly one line on stderr. */
function expectFailure(r: CliRun, code: number, pattern: RegExp): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: "" });
  expect(r.stderr).toMatch(/^petrel: [^\n]+\n$/);
  expect(r.stderr).toMatch(pattern);
}

beforeAll(async () => {
  if (withDns)
    dns = await startDnsServer({ zones: [testZone("shop.test", []), testZone("broken.test", [])] });
  // Without a DNS server, verification asks a closed loopback port: never the machine's resolver.
  const servers = dns ? dns.address : `127.0.0.1:${await freePort()}`;
  relay = await startRelayProcess({ PETREL_DNS_SERVERS: servers, PETREL_PROVIDER_DOMAIN: PROVIDER });
  env = { PETREL_DATA_DIR: relay.dataDir, PETREL_HTTP_PORT: String(relay.httpPort) };
}, 240_000);

afterAll(async () => {
  await relay?.stop();
  await dns?.stop();
  // npm, the wrapper, may die of the forwarded SIGTERM (143); the relay itself must stop cleanly.
  if (relay) expect(relay.output()).toMatch(/"msg":"stopped"/);
}, 60_000);

describe("petrel (O4)", () => {
  it("plan list → the catalog (through npx petrel)", async () => {
    const r = await petrel(["plan", "list"], env, { npx: true });
    expect(r.code).toBe(0);
    const names = (JSON.parse(r.stdout).plans as { name: string }[]).map((p) => p.name);
    expect(names).toEqual(["free", "starter", "pro", "business"]);
  });

  it("account create → { accountId, ... }", async () => {
    const r = (
      await ok(["account", "create", "--name", "Acme", "--plan", "starter", "--timezone", "America/Toronto"])
    ).json();
    expect(r.accountId).toMatch(/^acc_[a-z2-7]{16}$/);
    expect(r).toMatchObject({ name: "Acme", plan: "starter", timezone: "America/Toronto", status: "active" });
    accountId = r.accountId;
  });

  it("member add → the member, with a generated password that signs in to the dashboard", async () => {
    const r = (
      await ok(["member", "add", "--account", accountId, "--email", "Boss@Acme.test", "--role", "admin"])
    ).json();
    expect(r).toMatchObject({ email: "boss@acme.test", role: "admin", hasPassword: true });
    const signIn = await fetch(`${relay.api}/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "boss@acme.test", password: r.password }),
    });
    expect(signIn.status).toBe(201);
    const custom = (
      await ok([
        "member",
        "add",
        "--account",
        accountId,
        "--email",
        "ops@acme.test",
        "--role",
        "custom",
        "--permission",
        "smtp.users",
        "--permission",
        "billing",
      ])
    ).json();
    expect(custom.permissions).toEqual(["smtp.users", "billing"]);
  });

  it("apikey create → { key, ... } that works within its scopes", async () => {
    const r = (
      await ok([
        "apikey",
        "create",
        "--account",
        accountId,
        "--scope",
        "users:write",
        "--scope",
        "domains:write",
      ])
    ).json();
    expect(r.key).toMatch(/^pk_[a-z2-7]{12}_[A-Za-z0-9_-]{32}$/);
    expect(r.scopes).toEqual(["users:write", "domains:write"]);
    const auth = { authorization: `Bearer ${r.key}` };
    expect((await fetch(`${relay.api}/v1/smtp-users`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${relay.api}/v1/account/billing`, { headers: auth })).status).toBe(403);
  });

  it("domain add → { domainId, records: [{name,type,value}] }", async () => {
    const r = (await ok(["domain", "add", "--account", accountId, "--domain", "shop.test"])).json();
    expect(r.domainId).toMatch(/^[a-z2-7]{16}$/);
    expect(r.records).toHaveLength(3);
    for (const rec of r.records) {
      expect(Object.keys(rec).sort()).toEqual(["name", "type", "value"]);
      expect(rec.type).toBe("CNAME");
      expect(rec.name.endsWith(".shop.test")).toBe(true);
      expect(rec.value.endsWith(`.${PROVIDER}`)).toBe(true);
    }
  });

  it.skipIf(!withDns)("domain verify → verified once the CNAMEs are in DNS", async () => {
    const before = (await ok(["domain", "verify", "--account", accountId, "--domain", "shop.test"])).json();
    expect(before.status).not.toBe("verified");
    expect(before.records.map((x: { status: string }) => x.status)).toEqual([
      "missing",
      "missing",
      "missing",
    ]);
    const lines = before.records.map(
      (x: { name: string; value: string }) => `${x.name}. IN CNAME ${x.value}.`,
    );
    await dns!.reload([testZone("shop.test", lines), testZone("broken.test", [])]);
    const after = (await ok(["domain", "verify", "--account", accountId, "--domain", "shop.test"])).json();
    expect(after.status).toBe("verified");
    expect(after.trusted).toBe(false);
    expect(after.records.map((x: { status: string }) => x.status)).toEqual([
      "verified",
      "verified",
      "verified",
    ]);
  });

  it("domain verify reports which record is wrong and why", async () => {
    const added = (await ok(["domain", "add", "--account", accountId, "--domain", "broken.test"])).json();
    if (dns) {
      const [dkim1, dkim2] = added.records;
      await dns.reload([
        testZone("shop.test", []),
        testZone("broken.test", [
          `${dkim1.name}. IN CNAME ${dkim1.value}.`,
          `${dkim2.name}. IN CNAME elsewhere.example.`,
        ]),
      ]);
    }
    const r = (await ok(["domain", "verify", "--account", accountId, "--domain", "broken.test"])).json();
    expect(r.status).not.toBe("verified");
    const states = r.records.map((x: { kind: string; status: string }) => `${x.kind}:${x.status}`);
    if (dns) {
      expect(states).toEqual(["dkim1:verified", "dkim2:wrong", "return_path:missing"]);
      expect(r.records[1].detail).toContain("elsewhere.example");
    } else expect(states).toEqual(["dkim1:pending", "dkim2:pending", "return_path:pending"]);
  });

  it("domain verify --trust → verified without DNS, and logged", async () => {
    const r = (
      await ok(["domain", "verify", "--account", accountId, "--domain", "broken.test", "--trust"])
    ).json();
    expect({ status: r.status, trusted: r.trusted }).toEqual({ status: "verified", trusted: true });
    expect(relay.output()).toMatch(/"msg":"domain trusted without DNS"/);
    expect(relay.output()).toContain('"domain":"broken.test"');
  });

  it("smtp-user create / reset / delete", async () => {
    const created = (await ok(["smtp-user", "create", "--account", accountId, "--name", "web shop"])).json();
    expect(created.username).toMatch(/^ptl_[a-z2-7]{16}$/);
    expect(created.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const reset = (
      await ok(["smtp-user", "reset", "--account", accountId, "--username", created.username])
    ).json();
    expect(reset.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(reset.password).not.toBe(created.password);
    const deleted = (
      await ok(["smtp-user", "delete", "--account", accountId, "--username", created.username])
    ).json();
    expect(deleted).toEqual({ deleted: true, username: created.username });
    const again = await petrel(
      ["smtp-user", "delete", "--account", accountId, "--username", created.username],
      env,
    );
    expectFailure(again, 1, /HTTP 404 smtp_user_not_found/);
  });

  it("plan change → upgrade at once; account cancel → when sending stops and data goes", async () => {
    const change = (await ok(["plan", "change", "--account", accountId, "--plan", "pro"])).json();
    expect({ plan: change.plan, effective: change.effective, now: change.account.plan }).toEqual({
      plan: "pro",
      effective: "now",
      now: "pro",
    });
    const cancel = (await ok(["account", "cancel", "--account", accountId])).json();
    expect(cancel.cancelAt).toBeGreaterThan(Date.now());
    expect(cancel.eraseAt).toBeGreaterThan(cancel.cancelAt);
  });

  it("suppressions lift → { lifted, dryRun }: by class, dry run first; a bad class or time names the field (issue 15)", async () => {
    await ok(["suppressions", "add", "--account", accountId, "--address", "kept@example.com"]);
    const dry = (
      await ok(["suppressions", "lift", "--account", accountId, "--source", "manual", "--dry-run"])
    ).json();
    expect(dry).toEqual({ lifted: 1, dryRun: true });
    // A manual entry has no class: lifting the policy class leaves it.
    expect((await ok(["suppressions", "lift", "--account", accountId, "--class", "policy"])).json()).toEqual({
      lifted: 0,
      dryRun: false,
    });
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const r = await ok([
      "suppressions",
      "lift",
      "--account",
      accountId,
      "--source",
      "manual",
      "--since",
      since,
    ]);
    expect(r.json()).toEqual({ lifted: 1, dryRun: false });
    expect((await ok(["suppressions", "list", "--account", accountId])).json().suppressions).toEqual([]);
    expectFailure(
      await petrel(["suppressions", "lift", "--account", accountId, "--class", "spam"], env),
      1,
      /HTTP 400 invalid_request: .*class/,
    );
    expectFailure(
      await petrel(["suppressions", "lift", "--account", accountId, "--since", "last week"], env),
      1,
      /HTTP 400 invalid_request: .*since/,
    );
  });

  it("zone export → the provider zone with each domain's DKIM TXT, MX and SPF", async () => {
    const shop = (await ok(["account", "get", "--account", accountId])).json();
    expect(shop.accountId).toBe(accountId);
    const r = await ok(["zone", "export"]);
    expect(r.stdout).toContain(`$ORIGIN ${PROVIDER}.`);
    const domains = await fetch(`${relay.api}/v1/admin/accounts/${accountId}/domains`, {
      headers: { authorization: `Bearer ${await operatorToken()}` },
    }).then((x) => x.json() as Promise<{ domains: { domainId: string; domain: string }[] }>);
    expect(domains.domains.map((d) => d.domain).sort()).toEqual(["broken.test", "shop.test"]);
    for (const d of domains.domains) {
      expect(r.stdout).toMatch(
        new RegExp(`^petrel1\\.${d.domainId}\\.dkim\\tIN\\tTXT\\t"v=DKIM1; k=rsa; p=`, "m"),
      );
      expect(r.stdout).toMatch(new RegExp(`^petrel2\\.${d.domainId}\\.dkim\\tIN\\tTXT\\t`, "m"));
      expect(r.stdout).toMatch(new RegExp(`^${d.domainId}\\.rp\\tIN\\tMX\\t10 `, "m"));
      expect(r.stdout).toMatch(new RegExp(`^${d.domainId}\\.rp\\tIN\\tTXT\\t"v=spf1 `, "m"));
    }
  });
});

/** The token the relay generated into its data dir (what the CLI reads too). */
async function operatorToken(): Promise<string> {
  const { readFileSync } = await import("node:fs");
  return (JSON.parse(readFileSync(`${relay.dataDir}/secrets.json`, "utf8")) as { adminToken: string })
    .adminToken;
}

describe("petrel failures: one line on stderr, non-zero exit", () => {
  it("an unknown command (usage: 2)", async () => {
    expectFailure(await petrel(["account", "explode"], env), 2, /unknown command "account explode"/);
  });
  it("a missing required option (usage: 2)", async () => {
    expectFailure(await petrel(["domain", "add", "--account", "x"], env), 2, /--domain is required/);
  });
  it("an unknown option (usage: 2)", async () => {
    expectFailure(await petrel(["plan", "list", "--colour"], env), 2, /Unknown option '--colour'/);
  });
  it("an error of the API, with its code", async () => {
    const r = await petrel(["account", "create", "--name", "X", "--plan", "platinum"], env);
    expectFailure(r, 1, /^petrel: account create: HTTP 400 plan_not_found: /);
  });
  it("a wrong operator token", async () => {
    const r = await petrel(["plan", "list"], { ...env, PETREL_ADMIN_TOKEN: "wrong-token-0123456789" });
    expectFailure(r, 1, /HTTP 401 unauthenticated/);
  });
  it("a relay that is not there", async () => {
    const r = await petrel(["plan", "list", "--api", `http://127.0.0.1:${await freePort()}`], env);
    expectFailure(r, 1, /cannot reach the relay API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
  it("no token at all", async () => {
    const r = await petrel(["plan", "list"], {
      PETREL_DATA_DIR: "/nonexistent-petrel",
      PETREL_HTTP_PORT: "1",
    });
    expectFailure(r, 1, /no operator token: set PETREL_ADMIN_TOKEN/);
  });
});

if (!withDns)
  console.warn(`[petrel tests] CLI: DNS verification runs against a closed port: ${dnsServerMissing()}`);
