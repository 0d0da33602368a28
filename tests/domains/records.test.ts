/**
 * C4: the customer's three CNAME records and the validation of domain names, against literal
 * tables; the TXT splitting of DKIM keys (D3).
 */
import { createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildSendingDomain, newDomainId } from "../../shared/domains/build.ts";
import { dkimTxtStrings, dkimTxtValue, generateDkimKey } from "../../shared/domains/dkim.ts";
import {
  customerRecords,
  DomainNameError,
  type DomainNameProblem,
  normalizeCustomerDomain,
  normalizeDomain,
} from "../../shared/domains/records.ts";
import { quoteTxt, splitTxt, txtRdata } from "../../shared/domains/txt.ts";

describe("normalizeDomain", () => {
  const good: [string, string][] = [
    ["example.com", "example.com"],
    ["  Example.COM.  ", "example.com"],
    ["mail.example.co.uk", "mail.example.co.uk"],
    ["Bücher.Example", "xn--bcher-kva.example"],
    ["例え.テスト", "xn--r8jz45g.xn--zckzah"],
    ["a-b.c0.example", "a-b.c0.example"],
    ["123.example", "123.example"],
    [`${"a".repeat(63)}.com`, `${"a".repeat(63)}.com`],
  ];
  it.each(good)("%j → %j", (input, out) => {
    expect(normalizeDomain(input)).toBe(out);
  });

  const bad: [string, DomainNameProblem][] = [
    ["", "empty"],
    ["   ", "empty"],
    [".", "empty"],
    ["192.168.0.1", "ip_address"],
    ["0x7f.1", "ip_address"],
    ["::1", "ip_address"],
    ["[::1]", "ip_address"],
    ["localhost", "single_label"],
    ["com.", "single_label"],
    ["exa mple.com", "invalid_characters"],
    ["a_b.example", "invalid_characters"],
    ["-a.example", "invalid_characters"],
    ["a-.example", "invalid_characters"],
    ["foo..example", "invalid_characters"],
    ["ex%41.com", "invalid_characters"],
    ["user@example.com", "invalid_characters"],
    ["http://example.com", "invalid_characters"],
    ["example.com:25", "invalid_characters"],
    ["xn--zz.example", "invalid_characters"],
    ["a.123", "invalid_characters"], // the URL host parser refuses a numeric last label outright
    [`${"a".repeat(64)}.com`, "label_too_long"],
    [`${Array.from({ length: 4 }, () => "a".repeat(60)).join(".")}.com`, "too_long"],
  ];
  it.each(bad)("%j is rejected: %s", (input, problem) => {
    let error: unknown;
    try {
      normalizeDomain(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainNameError);
    expect((error as DomainNameError).problem).toBe(problem);
    expect((error as DomainNameError).message).toContain("invalid domain");
  });

  it("leaves room for the longest record name (253 in all)", () => {
    // 234 + "petrel1._domainkey." (19) = 253
    const longest = `${["a".repeat(63), "b".repeat(63), "c".repeat(63)].join(".")}.${"d".repeat(42)}`;
    expect(longest.length).toBe(234);
    expect(normalizeDomain(longest)).toBe(longest);
    expect(() => normalizeDomain(`${longest}d`)).toThrow(/at most 234/);
  });

  it("refuses the provider's own domain and names under it", () => {
    expect(normalizeCustomerDomain("example.com", "petrel.example")).toBe("example.com");
    expect(() => normalizeCustomerDomain("Petrel.Example", "petrel.example")).toThrow(DomainNameError);
    expect(() => normalizeCustomerDomain("x.petrel.example", "petrel.example")).toThrow(
      /inside petrel.example/,
    );
    expect(normalizeCustomerDomain("notpetrel.example", "petrel.example")).toBe("notpetrel.example");
  });
});

describe("customerRecords (seed 003: DKIM 1, DKIM 2, Return-Path)", () => {
  it("gives the three CNAMEs into the provider zone", () => {
    expect(
      customerRecords({
        domain: "example.com",
        domainId: "abcd2345efgh6789",
        selectors: ["petrel1", "petrel2"],
        provider: "petrel.example",
      }),
    ).toEqual([
      {
        kind: "dkim1",
        name: "petrel1._domainkey.example.com",
        type: "CNAME",
        value: "petrel1.abcd2345efgh6789.dkim.petrel.example",
      },
      {
        kind: "dkim2",
        name: "petrel2._domainkey.example.com",
        type: "CNAME",
        value: "petrel2.abcd2345efgh6789.dkim.petrel.example",
      },
      {
        kind: "return_path",
        name: "pbounces.example.com",
        type: "CNAME",
        value: "abcd2345efgh6789.rp.petrel.example",
      },
    ]);
  });

  it("rejects selectors and ids that are not one DNS label, and equal selectors", () => {
    const base = { domain: "example.com", domainId: "id1", provider: "p.example" };
    expect(() => customerRecords({ ...base, selectors: ["a.b", "c"] })).toThrow(/DKIM selector/);
    expect(() => customerRecords({ ...base, selectors: ["s", "s"] })).toThrow(/both s/);
    expect(() => customerRecords({ ...base, domainId: "Bad_Id", selectors: ["a", "b"] })).toThrow(
      /domain id/,
    );
  });
});

describe("buildSendingDomain", () => {
  it("normalises the name and makes keys, pending records and the return-path host", async () => {
    const d = await buildSendingDomain({
      domain: "Bücher.Example",
      provider: "Petrel.Example.",
      now: 1_767_225_600_000,
      id: "abcd2345efgh6789",
    });
    expect({ ...d, dkim: d.dkim.map((k) => [k.selector, k.algorithm]) }).toEqual({
      id: "abcd2345efgh6789",
      domain: "xn--bcher-kva.example",
      addedAt: 1_767_225_600_000,
      status: "pending",
      trusted: false,
      records: [
        {
          kind: "dkim1",
          name: "petrel1._domainkey.xn--bcher-kva.example",
          type: "CNAME",
          value: "petrel1.abcd2345efgh6789.dkim.petrel.example",
          status: "pending",
        },
        {
          kind: "dkim2",
          name: "petrel2._domainkey.xn--bcher-kva.example",
          type: "CNAME",
          value: "petrel2.abcd2345efgh6789.dkim.petrel.example",
          status: "pending",
        },
        {
          kind: "return_path",
          name: "pbounces.xn--bcher-kva.example",
          type: "CNAME",
          value: "abcd2345efgh6789.rp.petrel.example",
          status: "pending",
        },
      ],
      dkim: [
        ["petrel1", "rsa-sha256"],
        ["petrel2", "rsa-sha256"],
      ],
      activeSelector: "petrel1",
      returnPathHost: "pbounces.xn--bcher-kva.example",
    });
    expect(d.dkim[0].publicKey).not.toBe(d.dkim[1].publicKey);
  });

  it("generates ids that are one lower-case DNS label, different each time", () => {
    const ids = new Set(Array.from({ length: 200 }, () => newDomainId()));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[a-z2-7]{16}$/);
  });

  it("throws the name error for a bad domain", async () => {
    await expect(buildSendingDomain({ domain: "10.0.0.1", provider: "p.example", now: 0 })).rejects.toThrow(
      DomainNameError,
    );
  });
});

describe("DKIM keys and their TXT record (D3)", () => {
  it("RSA-2048: p= is the SPKI of the private key, the value split into ≤255-byte strings", async () => {
    const key = await generateDkimKey("petrel1");
    const pub = createPublicKey(key.privateKeyPem);
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key.publicKey).toBe(pub.export({ format: "der", type: "spki" }).toString("base64"));
    const value = dkimTxtValue(key);
    expect(value).toBe(`v=DKIM1; k=rsa; p=${key.publicKey}`);
    const strings = dkimTxtStrings(key);
    expect(strings.length).toBe(2);
    expect(strings.every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
    expect(strings.join("")).toBe(value);
  });

  it("Ed25519: p= is the raw 32-byte key (RFC 8463)", async () => {
    const key = await generateDkimKey("petrel2", "ed25519-sha256");
    const raw = Buffer.from(key.publicKey, "base64").subarray(-32).toString("base64");
    expect(dkimTxtValue(key)).toBe(`v=DKIM1; k=ed25519; p=${raw}`);
    expect(dkimTxtStrings(key)).toEqual([`v=DKIM1; k=ed25519; p=${raw}`]);
  });

  it("splits and quotes TXT strings", () => {
    expect(splitTxt("")).toEqual([""]);
    expect(splitTxt("abcdefg", 3)).toEqual(["abc", "def", "g"]);
    expect(splitTxt("x".repeat(510))).toEqual(["x".repeat(255), "x".repeat(255)]);
    expect(splitTxt("x".repeat(511))).toEqual(["x".repeat(255), "x".repeat(255), "x"]);
    expect(() => splitTxt("é")).toThrow(/printable ASCII/);
    expect(quoteTxt('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(txtRdata("v=spf1 mx -all")).toBe('"v=spf1 mx -all"');
  });
});
