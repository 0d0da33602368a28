/**
 * dkim-direct.js signs without mailauth's stream and gives exactly what mailauth's dkimSign gives:
 * the same DKIM-Signature, byte for byte, for RSA and ed25519 keys, on messages built from the
 * header and body bytes that matter (folded and repeated headers, tabs, runs of spaces, trailing
 * blank lines, an empty body); it takes the direct path for every CRLF-only message with a blank
 * line after its header, and hands the others (a bare LF, no blank line) to dkimSign.
 */
import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import { describe, expect, it } from "vitest";
import { SIGNED_HEADERS } from "../../actors/delivery/dkim.ts";
import { install } from "../../actors/delivery/dkim-canon.js";
import { compatible, sign } from "../../actors/delivery/dkim-direct.js";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();
const ed = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();

const options = (key: "rsa" | "ed") => ({
  canonicalization: "relaxed/relaxed",
  algorithm: key === "rsa" ? "rsa-sha256" : "ed25519-sha256",
  signTime: new Date(Date.UTC(2026, 11, 7, 12, 0, 0)),
  headerList: SIGNED_HEADERS,
  signatureData: [
    {
      signingDomain: "sender.test",
      selector: "s1",
      privateKey: key === "rsa" ? rsa : ed,
      algorithm: key === "rsa" ? "rsa-sha256" : "ed25519-sha256",
    },
  ],
});

const name = fc.constantFrom(
  "From",
  "from",
  "To",
  "Subject",
  "SUBJECT",
  "Date",
  "Message-ID",
  "X-Other",
  "Cc",
);
const value = fc
  .array(fc.constantFrom("a", "b c", "  ", "\t", " ", "=?utf-8?q?x?=", "<id@x>", "\r\n\t", "\r\n "), {
    maxLength: 8,
  })
  .map((p) => p.join(""));
const header = fc
  .array(fc.tuple(name, value), { minLength: 1, maxLength: 8 })
  .map((rows) => rows.map(([n, v]) => `${n}:${v}\r\n`).join(""));
const body = fc
  .array(fc.constantFrom("x", "ab", " ", "  ", "\t", "\r\n", " \r\n", ".", "--b1", "\r\n\r\n"), {
    maxLength: 200,
  })
  .map((p) => p.join(""));

async function both(message: Buffer, key: "rsa" | "ed") {
  const mine = await sign(message, options(key));
  const theirs = await dkimSign(message, options(key) as unknown as Parameters<typeof dkimSign>[1]);
  return { mine, theirs };
}

describe("DKIM signing without mailauth's stream (dkim-direct.js)", () => {
  it("signs CRLF-only messages on the direct path, byte for byte as dkimSign", async () => {
    expect(compatible()).toBe(true);
    await fc.assert(
      fc.asyncProperty(header, body, fc.constantFrom<"rsa" | "ed">("rsa", "ed"), async (h, b, key) => {
        const { mine, theirs } = await both(Buffer.from(`${h}\r\n${b}`), key);
        expect(mine.direct).toBe(true);
        expect(mine.errors).toEqual([]);
        expect(mine.signatures).toMatch(/^DKIM-Signature: /);
        expect(mine.signatures).toBe(theirs.signatures);
      }),
      { numRuns: 300 },
    );
  });

  it("hands a message with a bare LF or without a blank line to dkimSign", async () => {
    for (const text of [
      "From: a@x\nTo: b@y\n\nbody\n",
      "From: a@x\r\nSubject: s\r\n\r\nline\nbare\r\n",
      "From: a@x\r\n",
    ]) {
      const { mine, theirs } = await both(Buffer.from(text), "rsa");
      expect(mine.direct).toBe(false);
      expect(mine.signatures).toBe(theirs.signatures);
    }
  });

  it("gives the same signature with dkim-canon.js's body hash installed, as the signing thread runs it", async () => {
    const text = Array.from(
      { length: 2000 },
      (_, n) => ["plain", "\ttab  twice", "trail   ", ""][n % 4],
    ).join("\r\n");
    const message = Buffer.from(`From: a@sender.test\r\nSubject: big\r\n\r\n${text}\r\n\r\n\r\n`);
    const before = await dkimSign(message, options("rsa") as unknown as Parameters<typeof dkimSign>[1]);
    expect(install()).toBe(true);
    const { mine, theirs } = await both(message, "rsa");
    expect(mine.direct).toBe(true);
    expect(mine.signatures).toBe(theirs.signatures);
    expect(mine.signatures).toBe(before.signatures);
  });
});
