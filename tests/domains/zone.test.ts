/** C4: the provider zone export (RFC 1035 master file), against a literal file. */
import { describe, expect, it } from "vitest";
import { exportZone, spfValue, zoneSerial, zoneSettings } from "../../shared/domains/zone.ts";
import type { SendingDomain } from "../../shared/model/account/protocol.ts";

function domain(name: string, id: string, p1: string, p2: string): SendingDomain {
  const key = (selector: string, publicKey: string) => ({
    selector,
    algorithm: "rsa-sha256" as const,
    publicKey,
    privateKeyPem: "(unused)",
  });
  return {
    id,
    domain: name,
    addedAt: 0,
    status: "pending",
    trusted: false,
    records: [],
    dkim: [key("petrel1", p1), key("petrel2", p2)],
    activeSelector: "petrel1",
    returnPathHost: `pbounces.${name}`,
  };
}

const NOW = Date.UTC(2026, 0, 1); // serial 1767225600

describe("exportZone", () => {
  it("writes SOA, NS and per domain two DKIM TXT, the return path's MX and SPF, sorted by domain", () => {
    const long = "K".repeat(300);
    const text = exportZone({
      provider: "Petrel.Example",
      now: NOW,
      domains: [domain("zeta.test", "zzzz", "ZZ1", "ZZ2"), domain("alpha.test", "aaaa", long, "AA2")],
      spf: ["ip4:192.0.2.10", "ip6:2001:db8::10", "include:_spf.petrel.example"],
      nameServers: ["ns1.petrel.example", "ns2.dns-host.example."],
      ttl: 600,
    });
    expect(text).toBe(
      [
        "; Petrel provider zone for petrel.example: the targets of the customers' CNAME records (C4).",
        "; Generated; export it again after domains change. Add A/AAAA records of the MX and NS hosts yourself.",
        "$ORIGIN petrel.example.",
        "$TTL 600",
        "@\tIN\tSOA\tns1.petrel.example. hostmaster.petrel.example. 1767225600 3600 600 1209600 300",
        "@\tIN\tNS\tns1.petrel.example.",
        "@\tIN\tNS\tns2.dns-host.example.",
        "",
        "; alpha.test (domain aaaa)",
        `petrel1.aaaa.dkim\tIN\tTXT\t"v=DKIM1; k=rsa; p=${"K".repeat(237)}" "${"K".repeat(63)}"`,
        'petrel2.aaaa.dkim\tIN\tTXT\t"v=DKIM1; k=rsa; p=AA2"',
        "aaaa.rp\tIN\tMX\t10 mx.petrel.example.",
        'aaaa.rp\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 include:_spf.petrel.example -all"',
        "",
        "; zeta.test (domain zzzz)",
        'petrel1.zzzz.dkim\tIN\tTXT\t"v=DKIM1; k=rsa; p=ZZ1"',
        'petrel2.zzzz.dkim\tIN\tTXT\t"v=DKIM1; k=rsa; p=ZZ2"',
        "zzzz.rp\tIN\tMX\t10 mx.petrel.example.",
        'zzzz.rp\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 include:_spf.petrel.example -all"',
        "",
      ].join("\n"),
    );
  });

  it("defaults: ns1 and mx under the provider, SPF `mx`, TTL 3600; no domains is a valid zone", () => {
    expect(exportZone({ provider: "petrel.localhost", now: NOW, domains: [] })).toBe(
      [
        "; Petrel provider zone for petrel.localhost: the targets of the customers' CNAME records (C4).",
        "; Generated; export it again after domains change. Add A/AAAA records of the MX and NS hosts yourself.",
        "$ORIGIN petrel.localhost.",
        "$TTL 3600",
        "@\tIN\tSOA\tns1.petrel.localhost. hostmaster.petrel.localhost. 1767225600 3600 600 1209600 300",
        "@\tIN\tNS\tns1.petrel.localhost.",
        "",
      ].join("\n"),
    );
  });

  it("is deterministic: the order of the input does not matter", () => {
    const a = domain("same.test", "id2", "B1", "B2");
    const b = domain("same.test", "id1", "A1", "A2");
    const c = domain("other.test", "id3", "C1", "C2");
    const one = exportZone({ provider: "p.example", now: NOW, domains: [a, b, c] });
    expect(exportZone({ provider: "p.example", now: NOW, domains: [c, b, a] })).toBe(one);
    expect(one.indexOf("; other.test")).toBeLessThan(one.indexOf("(domain id1)"));
    expect(one.indexOf("(domain id1)")).toBeLessThan(one.indexOf("(domain id2)"));
  });

  it("takes its settings from the config", () => {
    expect(
      zoneSettings({
        providerDomain: "petrel.example",
        providerMxHost: "bounce.petrel.example",
        providerSpf: ["ip4:192.0.2.1"],
        providerNameServers: [],
      }),
    ).toEqual({ provider: "petrel.example", mxHost: "bounce.petrel.example", spf: ["ip4:192.0.2.1"] });
  });
});

describe("spfValue and zoneSerial", () => {
  it.each([
    [["mx"], "v=spf1 mx -all"],
    [[], "v=spf1 -all"],
    [
      ["a", "a:out.example", "mx:petrel.example", "ip4:192.0.2.0/24"],
      "v=spf1 a a:out.example mx:petrel.example ip4:192.0.2.0/24 -all",
    ],
  ])("%j → %s", (mechanisms, value) => {
    expect(spfValue(mechanisms)).toBe(value);
  });

  it.each([["+all"], ["redirect=x.example"], ["ip4:1.2.3.4 -all"], ["exists:%{i}.x"]])("rejects %j", (m) => {
    expect(() => spfValue([m])).toThrow(/invalid SPF mechanism/);
  });

  it("serial is the export time in seconds", () => {
    expect(zoneSerial(NOW)).toBe(1_767_225_600);
    expect(zoneSerial(NOW + 999)).toBe(1_767_225_600);
    expect(zoneSerial(NOW + 1000)).toBe(1_767_225_601);
  });
});
