/**
 * C4 against a real DNS server (Knot, tests/dns/server.ts) on loopback:
 *  - the exported provider zone loads and answers the DKIM TXT, MX and SPF queries that the
 *    customers' CNAMEs lead to;
 *  - verification: all three CNAMEs verify; missing and wrong records say which and why; a
 *    verified domain whose record is removed fails on re-check; a resolver failure gives no verdict;
 *  - D3: a DKIM signature made with the generated private key verifies against the published key.
 */
import type { Resolver } from "node:dns/promises";
import { dkimSign, dkimVerify } from "mailauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSendingDomain } from "../../shared/domains/build.ts";
import { dkimTxtValue } from "../../shared/domains/dkim.ts";
import { createResolver, isConclusive, verifyRecords } from "../../shared/domains/verify.ts";
import { exportZone } from "../../shared/domains/zone.ts";
import type { SendingDomain } from "../../shared/model/account/protocol.ts";
import { type DnsServer, requireDnsServer, startDnsServer, testZone } from "../dns/server.ts";

const PROVIDER = "petrel.test";
const NOW = Date.UTC(2026, 0, 1);
const SPF = ["ip4:127.0.0.1", "include:_spf.petrel.test"];
const available = requireDnsServer("DNS suites (tests/domains/dns.test.ts)");

const cname = (d: SendingDomain, kinds = ["dkim1", "dkim2", "return_path"]) =>
  d.records.filter((r) => kinds.includes(r.kind)).map((r) => `${r.name}. IN CNAME ${r.value}.`);

/** D3 signing as the delivery worker will do it: relaxed/relaxed (mailauth reads `signatureData`). */
function sign(message: string, domain: string, selector: string, privateKey: string, algorithm: string) {
  const signature = {
    signingDomain: domain,
    selector,
    privateKey,
    algorithm,
    canonicalization: "relaxed/relaxed",
  };
  // signTime, as the delivery worker passes it (actors/delivery/dkim.ts): without it mailauth 4.13
  // computes t= twice, rounding Date.now() to the second, once for the header it signs and once for
  // the header it emits; when a half second passes between the two, the signature is bad (1 in ~300).
  return dkimSign(message, { ...signature, signTime: new Date(), signatureData: [signature] });
}

/** What a stub resolver's user does with an answer that is only a CNAME: ask again for its target. */
async function follow<T>(r: Resolver, name: string, query: (n: string) => Promise<T>): Promise<T> {
  const [target] = await r.resolveCname(name).catch(() => [name]);
  return query(target ?? name);
}

describe.skipIf(!available)("provider zone and verification on a real DNS server", () => {
  let dns: DnsServer;
  let resolver: Resolver;
  let good: SendingDomain;
  let edDomain: SendingDomain;
  let missing: SendingDomain;
  let wrong: SendingDomain;
  let later: SendingDomain;
  const zones = () => [
    {
      origin: PROVIDER,
      text: exportZone({
        provider: PROVIDER,
        now: NOW,
        domains: [good, edDomain, missing, wrong, later],
        spf: SPF,
      }),
    },
    testZone("good.test", cname(good)),
    testZone("ed.test", cname(edDomain)),
    // DKIM 2 absent (NXDOMAIN); the return path has a TXT record but no CNAME (NODATA).
    testZone("missing.test", [...cname(missing, ["dkim1"]), 'pbounces IN TXT "v=spf1 -all"']),
    // DKIM 1 points at another provider's key, the return path at a host of the customer's own.
    testZone("wrong.test", [
      "petrel1._domainkey IN CNAME petrel1.otherid.dkim.other-provider.test.",
      ...cname(wrong, ["dkim2"]),
      "pbounces IN CNAME mail.wrong.test.",
    ]),
    testZone("later.test", cname(later)),
  ];

  beforeAll(async () => {
    const build = (domain: string, id: string, algorithm?: "ed25519-sha256") =>
      buildSendingDomain({ domain, provider: PROVIDER, now: NOW, id, ...(algorithm ? { algorithm } : {}) });
    [good, edDomain, missing, wrong, later] = await Promise.all([
      build("good.test", "goodid"),
      build("ed.test", "edid", "ed25519-sha256"),
      build("missing.test", "missingid"),
      build("wrong.test", "wrongid"),
      build("later.test", "laterid"),
    ]);
    dns = await startDnsServer({ zones: zones() });
    resolver = createResolver({ servers: [dns.address], timeoutMs: 1000, tries: 2 });
  });

  afterAll(async () => {
    await dns?.stop();
  });

  it("the provider zone answers DKIM TXT, MX and SPF behind the customer's CNAMEs", async () => {
    for (const d of [good, edDomain]) {
      for (const [i, key] of d.dkim.entries()) {
        const txt = await follow(resolver, `${key.selector}._domainkey.${d.domain}`, (n) =>
          resolver.resolveTxt(n),
        );
        expect(
          txt.map((strings) => strings.join("")),
          `${d.domain} DKIM ${i + 1}`,
        ).toEqual([dkimTxtValue(key)]);
      }
      // Node 24 adds `type: "MX"` to each record; the test reads the two fields RFC 5321 uses.
      const mx = (await follow(resolver, `pbounces.${d.domain}`, (n) => resolver.resolveMx(n))).map(
        ({ exchange, priority }) => ({ exchange, priority }),
      );
      expect(mx).toEqual([{ exchange: "mx.petrel.test", priority: 10 }]);
      const spf = await follow(resolver, `pbounces.${d.domain}`, (n) => resolver.resolveTxt(n));
      expect(spf).toEqual([["v=spf1 ip4:127.0.0.1 include:_spf.petrel.test -all"]]);
    }
    // RSA keys take two TXT strings; they come back as such.
    const rsa = await resolver.resolveTxt(`petrel1.goodid.dkim.${PROVIDER}`);
    expect(rsa[0]?.length).toBe(2);
  });

  it("a domain with all three CNAMEs verifies", async () => {
    const states = await verifyRecords(resolver, good.records, NOW);
    expect(states.map((s) => [s.kind, s.status])).toEqual([
      ["dkim1", "verified"],
      ["dkim2", "verified"],
      ["return_path", "verified"],
    ]);
    expect(states.every((s) => s.checkedAt === NOW)).toBe(true);
    expect(states[2]?.detail).toBe("CNAME goodid.rp.petrel.test");
    expect(isConclusive(states)).toBe(true);
  });

  it("missing records: which one, and NXDOMAIN or NODATA", async () => {
    const states = await verifyRecords(resolver, missing.records, NOW);
    expect(states.map((s) => [s.kind, s.status, s.detail])).toEqual([
      ["dkim1", "verified", "CNAME petrel1.missingid.dkim.petrel.test"],
      ["dkim2", "missing", "NXDOMAIN (ENOTFOUND): petrel2._domainkey.missing.test does not exist"],
      ["return_path", "missing", "NODATA (ENODATA): pbounces.missing.test has no CNAME record"],
    ]);
    expect(isConclusive(states)).toBe(true);
  });

  it("wrong records: which one, and where it points instead", async () => {
    const states = await verifyRecords(resolver, wrong.records, NOW);
    expect(states.map((s) => [s.kind, s.status, s.detail])).toEqual([
      [
        "dkim1",
        "wrong",
        "CNAME points to petrel1.otherid.dkim.other-provider.test instead of petrel1.wrongid.dkim.petrel.test",
      ],
      ["dkim2", "verified", "CNAME petrel2.wrongid.dkim.petrel.test"],
      ["return_path", "wrong", "CNAME points to mail.wrong.test instead of wrongid.rp.petrel.test"],
    ]);
  });

  it("a verified domain whose record is removed fails on re-check", async () => {
    expect((await verifyRecords(resolver, later.records, NOW)).map((s) => s.status)).toEqual([
      "verified",
      "verified",
      "verified",
    ]);
    await dns.reload(
      zones().map((z) =>
        z.origin === "later.test" ? testZone("later.test", cname(later, ["dkim1", "dkim2"])) : z,
      ),
    );
    const again = await verifyRecords(resolver, later.records, NOW + 1);
    expect(again.map((s) => [s.kind, s.status])).toEqual([
      ["dkim1", "verified"],
      ["dkim2", "verified"],
      ["return_path", "missing"],
    ]);
    expect(again[2]?.detail).toMatch(/^NXDOMAIN/);
  });

  it("a resolver failure is no verdict: the record stays pending and the check is inconclusive", async () => {
    // The server is not authoritative for this domain: it answers REFUSED.
    const stranger = await buildSendingDomain({
      domain: "unknown.example",
      provider: PROVIDER,
      now: NOW,
      id: "x",
    });
    const states = await verifyRecords(resolver, stranger.records, NOW);
    expect(states.map((s) => s.status)).toEqual(["pending", "pending", "pending"]);
    expect(states[0]?.detail).toMatch(/^not checked: DNS error EREFUSED/);
    expect(isConclusive(states)).toBe(false);
  });

  it("D3: a DKIM signature with the generated private key verifies against the published key", async () => {
    const dnsResolver = async (name: string, rrtype: string) => {
      if (rrtype !== "TXT")
        throw Object.assign(new Error(`unexpected ${rrtype} query`), { code: "ENOTFOUND" });
      return follow(resolver, name, (n) => resolver.resolveTxt(n));
    };
    const message = (from: string) =>
      [
        `From: Sender <sender@${from}>`,
        "To: someone@example.net",
        "Subject: DKIM check",
        "Date: Thu, 01 Jan 2026 00:00:00 +0000",
        `Message-ID: <1@${from}>`,
        "",
        "Hello.",
        "",
      ].join("\r\n");
    const edOther = await buildSendingDomain({
      domain: "other.test",
      provider: PROVIDER,
      now: NOW,
      algorithm: "ed25519-sha256",
    });
    for (const d of [good, edDomain]) {
      for (const key of d.dkim) {
        const signed = await sign(
          message(d.domain),
          d.domain,
          key.selector,
          key.privateKeyPem,
          key.algorithm,
        );
        expect(signed.errors).toEqual([]);
        expect(signed.signatures).toMatch(/^DKIM-Signature: /);
        const result = await dkimVerify(signed.signatures + message(d.domain), { resolver: dnsResolver });
        const [r] = result.results;
        expect([d.domain, key.selector, r?.status.result]).toEqual([d.domain, key.selector, "pass"]);
        // Signed with a key that is not the published one: it fails, so the key really is checked.
        const wrongKey = (key.algorithm === "rsa-sha256" ? later : edOther).dkim[0].privateKeyPem;
        const forged = await sign(message(d.domain), d.domain, key.selector, wrongKey, key.algorithm);
        expect(forged.signatures).toContain(`s=${key.selector}`);
        const bad = await dkimVerify(forged.signatures + message(d.domain), { resolver: dnsResolver });
        expect(bad.results[0]?.status.result).not.toBe("pass");
      }
    }
  });
});

describe("createResolver", () => {
  it("takes IP addresses with optional ports and refuses names", () => {
    expect(() =>
      createResolver({ servers: ["127.0.0.1:5353", "[::1]:53", "192.0.2.1", "::1"] }),
    ).not.toThrow();
    expect(() => createResolver({ servers: ["dns.example:53"] })).toThrow(/expected an IP address/);
    expect(() => createResolver({ servers: ["localhost"] })).toThrow(/expected an IP address/);
  });

  it("asks only the configured servers", () => {
    expect(createResolver({ servers: ["127.0.0.1:5353"] }).getServers()).toEqual(["127.0.0.1:5353"]);
  });
});
