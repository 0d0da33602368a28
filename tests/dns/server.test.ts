/** The test DNS server harness itself: serves, reloads (zones added and removed), reports bad zones, stops. */
import { Resolver } from "node:dns/promises";
import { describe, expect, it } from "vitest";
import { requireDnsServer, startDnsServer, type ZoneText } from "./server.ts";

const available = requireDnsServer("DNS server harness (tests/dns/server.test.ts)");

const zone = (origin: string, txt: string): ZoneText => ({
  origin,
  text: `$ORIGIN ${origin}.\n$TTL 60\n@ IN SOA ns1 hostmaster 7 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 127.0.0.1\nt IN TXT "${txt}"\n`,
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!available)("startDnsServer (Knot on loopback)", () => {
  it("serves zones, reloads them, and stops its process", async () => {
    const dns = await startDnsServer({ zones: [zone("one.test", "first")] });
    try {
      expect(dns.address).toMatch(/^127\.0\.0\.1:\d+$/);
      const r = new Resolver({ timeout: 500, tries: 2 });
      r.setServers([dns.address]);
      expect(await r.resolveTxt("t.one.test")).toEqual([["first"]]);
      // Same serial, new content, one zone added: the reload is forced and waited for.
      await dns.reload([zone("one.test", "second"), zone("two.test", "new")]);
      expect(await r.resolveTxt("t.one.test")).toEqual([["second"]]);
      expect(await r.resolveTxt("t.two.test")).toEqual([["new"]]);
      await dns.reload([zone("two.test", "new")]);
      await expect(r.resolveTxt("t.one.test")).rejects.toMatchObject({ code: "EREFUSED" });
      await expect(dns.reload([{ origin: "two.test", text: "garbage line\n" }])).rejects.toThrow(
        /knotc zone-check/,
      );
    } finally {
      await dns.stop();
    }
    expect(alive(dns.pid)).toBe(false);
  });

  it("a zone file that does not load is an error naming it", async () => {
    await expect(startDnsServer({ zones: [{ origin: "bad.test", text: "@ IN BOGUS x\n" }] })).rejects.toThrow(
      /bad\.test/,
    );
  });
});
