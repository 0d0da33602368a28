/**
 * dkim-canon.js's fast paths for mailauth's body hash give exactly what mailauth's own loops give:
 * the same relaxed body hash and counts, the same bytes out of the line-break check, on bodies
 * built from the bytes that matter (space, tab, CR, LF, dot, `--`) cut into chunks anywhere; and
 * a whole signature made with them installed is mailauth's, byte for byte.
 */
import { createRequire } from "node:module";
import fc from "fast-check";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import { afterEach, describe, expect, it } from "vitest";
import {
  compatible,
  ensureLinebreaks,
  install,
  original,
  relaxedUpdate,
} from "../../actors/delivery/dkim-canon.js";
import { sendingDomain } from "./harness.ts";

interface Relaxed {
  update(chunk: Buffer | null, final?: boolean): void;
  digest(enc: "base64"): string;
  setContentType(ct: { value: string; params: { boundary?: string } }): void;
  getMimeStructureStart(): number;
  byteLength: number;
  canonicalizedLength: number;
  bodyHashedBytes: number;
}
type RelaxedCtor = new (algorithm?: string, maxBodyLength?: number) => Relaxed;
type ParserCtor = new () => { lastByte?: number };

const require = createRequire(import.meta.url);
const { RelaxedHash } = require("mailauth/lib/dkim/body/relaxed.js") as { RelaxedHash: RelaxedCtor };
const { MessageParser } = require("mailauth/lib/dkim/message-parser.js") as { MessageParser: ParserCtor };

/** Bodies of the bytes the loops look at, with plain text between. */
const body = fc
  .array(fc.constantFrom("x", "ab", " ", "  ", "\t", "\r", "\n", "\r\n", " \r\n", ".", "--b1", "\r\n\r\n"), {
    maxLength: 300,
  })
  .map((parts) => Buffer.from(parts.join("")));

/** `buf` cut at the given fractions of its length. */
const cut = (buf: Buffer, at: number[]) => {
  const points = [...new Set(at.map((f) => Math.floor(f * buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(buf.subarray(from, p));
    from = p;
  }
  out.push(buf.subarray(from));
  return out;
};
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });

function hashWith(update: typeof relaxedUpdate, chunks: Buffer[], maxBodyLength?: number, boundary?: string) {
  const h = new RelaxedHash("sha256", maxBodyLength);
  if (boundary) h.setContentType({ value: "multipart/mixed", params: { boundary } });
  for (const c of chunks) update.call(h, c);
  const digest = h.digest("base64"); // the final call is mailauth's update in both
  return {
    digest,
    byteLength: h.byteLength,
    canonicalizedLength: h.canonicalizedLength,
    bodyHashedBytes: h.bodyHashedBytes,
    mimeStart: h.getMimeStructureStart(),
  };
}

function linebreaksWith(gen: typeof ensureLinebreaks, chunks: Buffer[]) {
  const p = new MessageParser();
  const out: Buffer[] = [];
  const lastBytes: (number | undefined)[] = [];
  for (const c of chunks) {
    for (const b of gen.call(p, c)) out.push(Buffer.from(b));
    lastBytes.push(p.lastByte);
  }
  return { bytes: Buffer.concat(out).toString("latin1"), lastBytes };
}

describe("DKIM body hash fast paths (dkim-canon.js)", () => {
  afterEach(() => {
    const r = RelaxedHash.prototype as unknown as { update: unknown };
    const m = MessageParser.prototype as unknown as { ensureLinebreaks: unknown };
    r.update = original.update;
    m.ensureLinebreaks = original.ensureLinebreaks;
  });

  it("hashes a relaxed body exactly as mailauth does, whatever the chunks", () => {
    fc.assert(
      fc.property(body, cuts, fc.option(fc.nat(400)), fc.boolean(), (buf, at, max, multipart) => {
        const chunks = cut(buf, at);
        const l = max ?? undefined;
        const b = multipart ? "b1" : undefined;
        expect(hashWith(relaxedUpdate, chunks, l, b)).toEqual(hashWith(original.update, chunks, l, b));
      }),
      { numRuns: 3000 },
    );
  });

  it("turns bare line breaks into CRLF exactly as mailauth does, whatever the chunks", () => {
    fc.assert(
      fc.property(body, cuts, (buf, at) => {
        const chunks = cut(buf, at);
        expect(linebreaksWith(ensureLinebreaks, chunks)).toEqual(
          linebreaksWith(original.ensureLinebreaks, chunks),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it("signs a 100 KiB message with tabs, runs of spaces and bare LFs byte for byte as mailauth alone", async () => {
    const domain = sendingDomain();
    const key = domain.dkim[0]!;
    const options = {
      canonicalization: "relaxed/relaxed",
      signTime: new Date(Date.UTC(2026, 11, 6, 12, 0, 0)),
      signatureData: [
        {
          signingDomain: domain.domain,
          selector: key.selector,
          privateKey: key.privateKeyPem,
          algorithm: key.algorithm,
        },
      ],
    } as unknown as Parameters<typeof dkimSign>[1];
    const lines = ["plain line", "\tindented  twice", "trailing   ", "bare\n", "", ".dot", "x".repeat(76)];
    const text = Array.from({ length: 1500 }, (_, n) => lines[n % lines.length]).join("\r\n");
    const message = Buffer.from(`From: a@${domain.domain}\r\nSubject: canon\r\n\r\n${text}\r\n\r\n\r\n`);
    const before = await dkimSign(message, options);
    expect(compatible()).toBe(true);
    expect(install()).toBe(true);
    expect(RelaxedHash.prototype.update).toBe(relaxedUpdate);
    const after = await dkimSign(message, options);
    expect(after.errors).toEqual([]);
    expect(after.signatures).toBe(before.signatures);
    expect(after.signatures).toMatch(/bh=[A-Za-z0-9+/]+=*;/);
  });
});
