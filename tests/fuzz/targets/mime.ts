/**
 * MIME intake (ingress/intake.ts: line guard, mailsplit, the attachment policy of ingress/attachments.ts,
 * into the real local content store) on random messages: nested multiparts, odd and repeated headers,
 * encoded words, RFC 2231 parameters (continuations, charsets), transfer encodings, attachment names
 * of every shape, bare CR/LF, cuts. Every message is stored or refused with an SmtpError (4xx/5xx code,
 * enhanced status, a sentence) — never another error; what is stored ends with the submitted body;
 * and a leaf attachment whose name carries a blocked extension, however it is spelled, is refused.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { BLOCKED_EXTENSIONS } from "../../../ingress/attachments.ts";
import { Replies, SmtpError } from "../../../ingress/errors.ts";
import { intake } from "../../../ingress/intake.ts";
import { LocalContentStore } from "../../../shared/content/local.ts";
import type { FuzzTarget } from "../target.ts";

const BLOCKED = [...BLOCKED_EXTENSIONS];
const text = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: "binary", maxLength: 60 }));
const b64 = (s: string) => Buffer.from(s).toString("base64");

interface Name {
  /** The name as a mail client means it. */
  plain: string;
  /** Blocked whatever its spelling (a blocked extension among its extensions). */
  blocked: boolean;
}

/** An attachment name: plain, blocked (in any case, trailing dots or spaces, double extensions), odd. */
const nameArb: fc.Arbitrary<Name> = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9 _()-]{1,12}$/),
      fc.constantFrom(...BLOCKED),
      fc.constantFrom("", ".pdf"),
      fc.constantFrom("", ".", " ", ". .", "  "),
      fc.boolean(),
    )
    .map(([base, ext, before, after, upper]) => {
      const e = upper ? ext.toUpperCase() : ext;
      return { plain: `${base}${before}.${e}${after}`, blocked: true };
    }),
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]{1,10}$/), fc.constantFrom("pdf", "png", "txt", "csv", "docx", "zip"))
    .map(([b, e]) => ({ plain: `${b}.${e}`, blocked: false })),
  // Anything else: no claim about it, only that intake answers properly.
  text.map((plain) => ({ plain, blocked: false })),
);

/** The name written into a header parameter, in one of the ways clients write it. */
function nameParam(param: "filename" | "name", n: string, how: number): string {
  switch (how % 5) {
    case 0:
      return `${param}="${n.replace(/["\\\r\n]/g, "_")}"`;
    case 1: // RFC 2047 encoded word
      return `${param}="=?utf-8?B?${b64(n)}?="`;
    case 2: // RFC 2231 with a charset
      return `${param}*=utf-8''${encodeURIComponent(n)}`;
    case 3: {
      // RFC 2231 continuations
      const cut = Math.max(1, Math.floor(n.length / 2));
      return `${param}*0="${n.slice(0, cut).replace(/["\\\r\n]/g, "_")}"; ${param}*1="${n.slice(cut).replace(/["\\\r\n]/g, "_")}"`;
    }
    default:
      return `${param}=${n.replace(/[\s;"\\]/g, "_")}`;
  }
}

interface Leaf {
  kind: "leaf";
  type: string;
  name: Name | undefined;
  /** How the name is carried: Content-Disposition filename, Content-Type name, or both. */
  where: "disposition" | "type" | "both";
  how: number;
  cte: string;
  body: string;
  extra: string[];
}
interface Multi {
  kind: "multi";
  subtype: string;
  boundary: string;
  children: Part[];
}
type Part = Leaf | Multi;

const leafArb: fc.Arbitrary<Leaf> = fc.record({
  kind: fc.constant("leaf" as const),
  type: fc.constantFrom(
    "text/plain",
    "application/pdf",
    "application/octet-stream",
    "image/png",
    "text/html",
    "application/x-unknown",
    "message/rfc822",
  ),
  name: fc.option(nameArb, { nil: undefined }),
  where: fc.constantFrom("disposition" as const, "type" as const, "both" as const),
  how: fc.nat(4),
  cte: fc.constantFrom("7bit", "8bit", "base64", "quoted-printable", "binary", "x-uue", ""),
  body: text,
  extra: fc.array(
    fc.oneof(
      text.map((t) => `X-Fuzz: ${t}`),
      fc.constantFrom(
        "Content-Type: text/plain",
        "Content-Disposition: inline",
        "Content-ID: <x@y>",
        " folded continuation",
        "NoColonHere",
      ),
    ),
    { maxLength: 3 },
  ),
});

const { part: partArb } = fc.letrec<{ part: Part; multi: Multi }>((tie) => ({
  part: fc.oneof({ depthSize: "small", withCrossShrink: true }, leafArb, tie("multi")),
  multi: fc.record({
    kind: fc.constant("multi" as const),
    subtype: fc.constantFrom("mixed", "alternative", "related", "report", "signed", "x-odd"),
    boundary: fc.oneof(fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,70}$/), fc.constant("same")),
    children: fc.array(tie("part"), { maxLength: 4 }),
  }),
}));

function render(p: Part): { head: string[]; body: string } {
  if (p.kind === "multi") {
    const body = `${p.children.map((c) => `--${p.boundary}\r\n${serialize(c)}\r\n`).join("")}--${p.boundary}--\r\n`;
    return { head: [`Content-Type: multipart/${p.subtype}; boundary="${p.boundary}"`], body };
  }
  const head = [...p.extra];
  const n = p.name?.plain;
  const typeParam = n !== undefined && p.where !== "disposition" ? `; ${nameParam("name", n, p.how)}` : "";
  head.push(`Content-Type: ${p.type}${typeParam}`);
  if (n !== undefined && p.where !== "type")
    head.push(`Content-Disposition: attachment; ${nameParam("filename", n, p.how)}`);
  if (p.cte) head.push(`Content-Transfer-Encoding: ${p.cte}`);
  return { head, body: p.cte === "base64" ? b64(p.body) : p.body };
}

function serialize(p: Part): string {
  const r = render(p);
  return `${r.head.join("\r\n")}\r\n\r\n${r.body}`;
}

function boundaries(p: Part): string[] {
  return p.kind === "multi" ? [p.boundary, ...p.children.flatMap(boundaries)] : [];
}

function leaves(p: Part): Leaf[] {
  return p.kind === "multi" ? p.children.flatMap(leaves) : [p];
}

/**
 * Whether the structure is unambiguous: distinct boundaries, none a prefix of another, no line breaks
 * smuggled into bodies or extra headers, line ends not mixed (a CR then an LF from two lines merge into
 * one). Otherwise a reader may see another structure than the generator meant, and no claim is made
 * about attachments or bytes — only that intake answers properly.
 */
function unambiguous(root: Part, lineEnds: string): boolean {
  const b = boundaries(root);
  if (lineEnds === "mixed" || b.some((x, i) => b.some((y, j) => i !== j && y.startsWith(x)))) return false;
  return !leaves(root).some((l) => /[\r\n]/.test(l.body) || l.extra.length > 0);
}

/** Leaf attachments the policy must refuse (not inside a message/rfc822). */
function blockedLeaves(root: Part): Leaf[] {
  return leaves(root).filter((l) => l.name?.blocked && l.type !== "message/rfc822");
}

const messageArb = fc.record({
  root: partArb,
  from: fc.oneof(fc.constant("App <app@shop.example>"), fc.constant(""), text),
  subject: fc.oneof(
    text,
    text.map((t) => `=?utf-8?B?${b64(t)}?=`),
    fc.nat(2000).map((n) => "s".repeat(n)),
  ),
  lineEnds: fc.constantFrom("crlf", "lf", "cr", "mixed"),
  chunk: fc.integer({ min: 1, max: 4096 }),
});

/** Where two texts that should end alike stop doing so, for the counterexample. */
function divergence(want: string, got: string): string {
  let k = 0;
  while (k < want.length && k < got.length && want[want.length - 1 - k] === got[got.length - 1 - k]) k++;
  const at = (s: string) => JSON.stringify(s.slice(Math.max(0, s.length - k - 80), s.length - k + 20));
  return `${k} bytes alike from the end; want …${at(want)}… got …${at(got)}…`;
}

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;

export const mime: FuzzTarget = {
  name: "mime",
  shortRuns: 300,
  caseTimeoutMs: 10_000,
  async open() {
    const dir = mkdtempSync(join(tmpdir(), "petrel-fuzz-mime-"));
    const store = await LocalContentStore.open(dir);
    let n = 0;
    return {
      property: fc.asyncProperty(messageArb, async (m) => {
        let raw = `${m.from === "" ? "" : `From: ${m.from}\r\n`}Subject: ${m.subject}\r\nMIME-Version: 1.0\r\n${serialize(m.root)}`;
        if (m.lineEnds === "lf") raw = raw.replace(/\r\n/g, "\n");
        if (m.lineEnds === "cr") raw = raw.replace(/\r\n/g, "\r");
        if (m.lineEnds === "mixed")
          raw = raw.replace(/\r\n/g, (_s, at: number) => ["\r\n", "\n", "\r"][at % 3]!);
        const bytes = Buffer.from(raw);
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += m.chunk) chunks.push(bytes.subarray(i, i + m.chunk));
        try {
          const r = await intake(Readable.from(chunks), {
            store,
            messageId: `fuzz${n++}`,
            hostname: "relay.test",
            now: Date.UTC(2026, 10, 20),
            maxBytes: 1024 * 1024,
            maxHeaderBytes: 64 * 1024,
            checkHeaderFrom: (domains) => {
              if (domains === null) throw Replies.noHeaderFrom();
            },
          });
          const clear = unambiguous(m.root, m.lineEnds);
          const blocked = clear ? blockedLeaves(m.root) : [];
          if (blocked.length > 0)
            throw new Error(
              `accepted a blocked attachment: ${JSON.stringify(blocked.map((b) => b.name?.plain))}`,
            );
          const stored: Buffer[] = [];
          for await (const c of await store.get(r.stored.ref)) stored.push(c as Buffer);
          const got = Buffer.concat(stored).toString("latin1");
          const normalized = bytes.toString("latin1").replace(/\r\n|\r|\n/g, "\r\n");
          const body = normalized.slice(normalized.indexOf("\r\n\r\n") + 4);
          if (clear && normalized.includes("\r\n\r\n") && !got.endsWith(body))
            throw new Error(
              `the stored message does not end with the submitted body: ${divergence(body, got)}`,
            );
          await store.delete(r.stored.ref);
        } catch (e) {
          if (!(e instanceof SmtpError)) throw e;
          if (!(e.code >= 400 && e.code < 600 && ENHANCED.test(e.enhanced) && e.text.length > 5))
            throw new Error(`improper refusal ${e.code} ${e.enhanced} ${e.text}`);
        }
      }),
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
