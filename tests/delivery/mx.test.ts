/**
 * MX resolution per RFC 5321 §5.1 / RFC 7505 (D1) against a real DNS server (Knot on loopback):
 * preference order, A/AAAA fallback without MX, null MX, NXDOMAIN, a temporary failure, and the
 * TTL cache (a changed zone is not seen until the TTL passes).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MxResolver } from "../../actors/delivery/mx.ts";
import { classifyTransport } from "../../shared/bounce/classify.ts";
import { createResolver } from "../../shared/domains/verify.ts";
import { type DnsServer, requireDnsServer, startDnsServer } from "../dns/server.ts";

const available = requireDnsServer("delivery suites (tests/delivery/mx.test.ts)");

const zone = (lines: string[]) => ({
  origin: "mx.test",
  text: [
    "$ORIGIN mx.test.",
    "$TTL 300",
    "@ IN SOA ns1 hostmaster 1 3600 600 86400 60",
    "@ IN NS ns1",
    "ns1 IN A 127.0.0.1",
    ...lines,
    "",
  ].join("\n"),
});

describe.skipIf(!available)("MX resolution (D1)", () => {
  let dns: DnsServer;
  let now = 1_000_000;
  let mx: MxResolver;
  beforeAll(async () => {
    dns = await startDnsServer({
      zones: [
        zone([
          "multi IN MX 20 b.multi",
          "multi IN MX 10 a.multi",
          "a.multi IN A 127.0.0.1",
          "b.multi IN A 127.0.0.1",
          "plain IN A 127.0.0.9",
          "v6only IN AAAA ::1",
          "nullmx IN MX 0 .",
          'empty IN TXT "no mail here"',
        ]),
      ],
    });
    mx = new MxResolver(createResolver({ servers: [dns.address] }), () => now);
  }, 30_000);
  afterAll(() => dns?.stop());

  it("orders MX hosts by preference", async () => {
    const r = await mx.resolve("multi.mx.test");
    expect(r.ok && r.hosts.map((h) => h.exchange)).toEqual(["a.multi.mx.test", "b.multi.mx.test"]);
  });

  it("falls back to the domain's own A or AAAA record without MX", async () => {
    expect(await mx.resolve("plain.mx.test")).toEqual({
      ok: true,
      hosts: [{ exchange: "plain.mx.test", priority: 0 }],
    });
    expect(await mx.resolve("v6only.mx.test")).toMatchObject({ ok: true });
  });

  it("a null MX is a hard bounce (RFC 7505)", async () => {
    const r = await mx.resolve("nullmx.mx.test");
    expect(r).toMatchObject({ ok: false, kind: "null_mx" });
    expect(classifyTransport("null_mx").result).toBe("hard");
  });

  it("NXDOMAIN and a name without mail records are permanent; a refused query is temporary", async () => {
    expect(await mx.resolve("nowhere.mx.test")).toMatchObject({ ok: false, kind: "nxdomain" });
    expect(await mx.resolve("empty.mx.test")).toMatchObject({ ok: false, kind: "no_mail_host" });
    expect(await mx.resolve("not-served.example")).toMatchObject({ ok: false, kind: "temporary" });
  });

  it("caches answers for their TTL", async () => {
    await mx.resolve("multi.mx.test");
    await dns.reload([zone(["multi IN MX 10 c.multi", "c.multi IN A 127.0.0.1"])]);
    const cached = await mx.resolve("multi.mx.test");
    expect(cached.ok && cached.hosts[0]?.exchange).toBe("a.multi.mx.test");
    now += 301_000;
    const fresh = await mx.resolve("multi.mx.test");
    expect(fresh.ok && fresh.hosts[0]?.exchange).toBe("c.multi.mx.test");
  });
});
