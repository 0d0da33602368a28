/**
 * C4 end to end on the real runtime: the account actor (actors/account) on the embedded log,
 * the domain verifier worker on `domain.verify`, and a real DNS server (Knot) on loopback.
 * Verify now → verified; a resolver failure records nothing; a record removed from DNS is caught
 * by the periodic re-verification (the actor's timer, advanced on a ManualClock) and the domain
 * loses its verification.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccountBehavior } from "../../actors/account/behavior.ts";
import {
  DOMAIN_VERIFY_TOPIC,
  type DomainCheck,
  encodeVerifyRequest,
  startDomainVerifier,
  verifyNow,
} from "../../actors/account/verifier.ts";
import { ManualClock } from "../../actors/clock.ts";
import { accountKey } from "../../actors/keys.ts";
import { ActorSystem } from "../../actors/system.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import type { Subscription } from "../../shared/bus/types.ts";
import { buildSendingDomain } from "../../shared/domains/build.ts";
import { createResolver } from "../../shared/domains/verify.ts";
import { exportZone } from "../../shared/domains/zone.ts";
import type { AccountReply, AccountState, SendingDomain } from "../../shared/model/account/protocol.ts";
import { type DnsServer, requireDnsServer, startDnsServer, type ZoneText } from "../dns/server.ts";
import { waitFor } from "../helpers/wait.ts";

const PARTITIONS = 4;
const PROVIDER = "petrel.test";
const REVERIFY_HOURS = 24;
const ACCOUNT = "acct1";
const PLAN = { name: "starter", monthlyRecipients: 1000, priceCents: 0, currency: "USD" };
const available = requireDnsServer("domain verifier suite (tests/domains/verifier.test.ts)");

function customerZone(d: SendingDomain, kinds: string[]): ZoneText {
  return {
    origin: d.domain,
    text: [
      `$ORIGIN ${d.domain}.`,
      "$TTL 60",
      `@ IN SOA ns1.${d.domain}. hostmaster.${d.domain}. 1 3600 600 86400 60`,
      `@ IN NS ns1.${d.domain}.`,
      "ns1 IN A 127.0.0.1",
      ...d.records.filter((r) => kinds.includes(r.kind)).map((r) => `${r.name}. IN CNAME ${r.value}.`),
      "",
    ].join("\n"),
  };
}

describe.skipIf(!available)("domain verifier on the account actor and a real DNS server", () => {
  const clock = new ManualClock();
  const dir = mkdtempSync(join(tmpdir(), "petrel-verifier-"));
  const checks: DomainCheck[] = [];
  let dns: DnsServer;
  let bus: LogBus;
  let system: ActorSystem;
  let worker: Subscription;
  let domain: SendingDomain;
  let deps: { resolver: ReturnType<typeof createResolver>; clock: ManualClock };
  const provider = (): ZoneText => ({
    origin: PROVIDER,
    text: exportZone({ provider: PROVIDER, now: clock.now(), domains: [domain] }),
  });

  async function stateOf(): Promise<SendingDomain> {
    const reply = await system.ask<AccountReply<AccountState>>(accountKey(ACCOUNT), { t: "get" });
    if (!reply.ok) throw new Error(reply.message);
    const d = reply.value.domains[domain.domain];
    if (!d) throw new Error("domain gone");
    return d;
  }

  beforeAll(async () => {
    domain = await buildSendingDomain({ domain: "Shop.Example", provider: PROVIDER, now: clock.now() });
    dns = await startDnsServer({
      zones: [provider(), customerZone(domain, ["dkim1", "dkim2", "return_path"])],
    });
    deps = { resolver: createResolver({ servers: [dns.address], timeoutMs: 500, tries: 1 }), clock };
    bus = await LogBus.open({ dir: join(dir, "bus") });
    system = new ActorSystem({ bus, nodeId: "local", clock, partitions: PARTITIONS, localAsk: true });
    system.register(
      createAccountBehavior({ partitions: PARTITIONS, retentionDays: 30, reverifyHours: REVERIFY_HOURS }),
    );
    await system.start();
    await waitFor(() => system.ownedPartitions("account").length === PARTITIONS, {
      what: "account partitions",
    });
    worker = await startDomainVerifier({
      bus,
      actors: system,
      partitions: PARTITIONS,
      ...deps,
      onChecked: (c) => checks.push(c),
    });
    const created = await system.ask<AccountReply>(accountKey(ACCOUNT), {
      t: "create",
      name: "Shop",
      plan: PLAN,
      timezone: "UTC",
    });
    expect(created.ok).toBe(true);
    const added = await system.ask<AccountReply>(accountKey(ACCOUNT), { t: "addDomain", domain });
    expect(added).toMatchObject({ ok: true });
  });

  afterAll(async () => {
    await worker?.close();
    await system?.stop();
    await bus?.close();
    await dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("verifyNow checks the three CNAMEs and the actor records the domain as verified", async () => {
    expect((await stateOf()).status).toBe("pending");
    const check = await verifyNow(system, ACCOUNT, "SHOP.example.", deps);
    expect(check).toMatchObject({
      accountId: ACCOUNT,
      domain: "shop.example",
      conclusive: true,
      recorded: true,
    });
    expect(check.records.map((r) => r.status)).toEqual(["verified", "verified", "verified"]);
    const d = await stateOf();
    expect(d.status).toBe("verified");
    expect(d.verifiedAt).toBe(clock.now());
    expect(d.records.map((r) => [r.kind, r.status, r.checkedAt])).toEqual([
      ["dkim1", "verified", clock.now()],
      ["dkim2", "verified", clock.now()],
      ["return_path", "verified", clock.now()],
    ]);
  });

  it("a check the resolvers could not answer records nothing: the domain stays verified", async () => {
    await dns.reload([provider()]); // the customer's zone is gone: the server answers REFUSED
    const check = await verifyNow(system, ACCOUNT, "shop.example", deps);
    expect(check.conclusive).toBe(false);
    expect(check.recorded).toBe(false);
    expect(check.records.every((r) => r.status === "pending" && r.detail?.includes("EREFUSED"))).toBe(true);
    expect((await stateOf()).status).toBe("verified");
  });

  it("unknown domains are an error for verifyNow", async () => {
    await expect(verifyNow(system, ACCOUNT, "other.example", deps)).rejects.toMatchObject({
      code: "domain_not_found",
    });
    await expect(verifyNow(system, "nobody", "shop.example", deps)).rejects.toMatchObject({
      code: "account_not_found",
    });
  });

  it("periodic re-verification catches a removed record and the domain loses its verification", async () => {
    await dns.reload([provider(), customerZone(domain, ["dkim1", "return_path"])]);
    // Requests the worker must survive, ahead of the real one in the same partition.
    await bus.publish(DOMAIN_VERIFY_TOPIC, [
      { key: accountKey(ACCOUNT), value: new TextEncoder().encode("not json") },
      {
        key: accountKey(ACCOUNT),
        value: encodeVerifyRequest({ accountId: ACCOUNT, domain: "gone.example" }),
      },
    ]);
    const before = checks.length;
    clock.advance(REVERIFY_HOURS * 3_600_000); // the actor's re-verification timer fires
    const d = await waitFor(
      async () => {
        const s = await stateOf();
        return s.status === "failed" ? s : undefined;
      },
      { what: "the domain to fail re-verification" },
    );
    expect(d.records.map((r) => [r.kind, r.status])).toEqual([
      ["dkim1", "verified"],
      ["dkim2", "missing"],
      ["return_path", "verified"],
    ]);
    expect(d.records[1]?.detail).toBe("NXDOMAIN (ENOTFOUND): petrel2._domainkey.shop.example does not exist");
    expect(d.lastCheckAt).toBe(clock.now());
    expect(checks.slice(before).map((c) => [c.domain, c.recorded])).toEqual([["shop.example", true]]);
  });
});
