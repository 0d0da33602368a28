/**
 * The DSN parser (shared/bounce/dsn.ts) on random input: the bounce corpus
 * (`../shared/bounce-corpus/dsn/`) mutated byte-wise (cuts, insertions, repeats, truncation), and
 * generated RFC 3464 reports with random fields, nesting, charsets and transfer encodings. It never
 * throws on content, settles within the bound, and a report it calls a bounce names at least one
 * failed recipient, each hard or soft.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { parseBounce } from "../../../shared/bounce/dsn.ts";
import { CORPUS_DIR } from "../../bounce/corpus-dir.ts";
import type { FuzzTarget } from "../target.ts";

const DSN_DIR = join(CORPUS_DIR, "dsn");

function corpus(): Buffer[] {
  return readdirSync(DSN_DIR)
    .filter((f) => f.endsWith(".eml"))
    .map((f) => readFileSync(join(DSN_DIR, f)));
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 80 }));

/** One edit of a message: cut, insert, repeat a slice, or truncate. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), n: fc.nat(400) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    b: fc.oneof(
      bytes(40),
      text.map((t) => Buffer.from(t)),
    ),
  }),
  fc.record({
    kind: fc.constant("repeat" as const),
    at: fc.nat(),
    n: fc.nat(300),
    times: fc.integer({ min: 2, max: 20 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function apply(m: Buffer, e: Edit): Buffer {
  const at = m.length === 0 ? 0 : e.at % m.length;
  switch (e.kind) {
    case "cut":
      return Buffer.concat([m.subarray(0, at), m.subarray(at + e.n)]);
    case "insert":
      return Buffer.concat([m.subarray(0, at), e.b, m.subarray(at)]);
    case "repeat":
      return Buffer.concat([
        m.subarray(0, at),
        ...Array(e.times).fill(m.subarray(at, at + e.n)),
        m.subarray(at),
      ]);
    case "truncate":
      return m.subarray(0, at);
  }
}

const field = (name: string, value: fc.Arbitrary<string>) =>
  fc.option(
    value.map((v) => `${name}: ${v}`),
    { nil: undefined },
  );
const statusCode = fc.oneof(
  fc.tuple(fc.constantFrom(2, 4, 5, 9), fc.nat(999), fc.nat(999)).map((p) => p.join(".")),
  text,
);
const recipientGroup = fc
  .tuple(
    field(
      "Final-Recipient",
      fc.oneof(
        fc.emailAddress().map((a) => `rfc822; ${a}`),
        text,
      ),
    ),
    field(
      "Original-Recipient",
      fc.oneof(
        fc.emailAddress().map((a) => `rfc822;${a}`),
        text,
      ),
    ),
    field(
      "Action",
      fc.oneof(fc.constantFrom("failed", "delayed", "delivered", "FAILED", "relayed", "expanded"), text),
    ),
    field("Status", statusCode),
    field(
      "Remote-MTA",
      fc.oneof(
        fc.domain().map((d) => `dns; ${d}`),
        text,
      ),
    ),
    field(
      "Diagnostic-Code",
      fc.oneof(
        fc
          .tuple(fc.integer({ min: 200, max: 599 }), statusCode, text)
          .map(([c, s, t]) => `smtp; ${c} ${s} ${t}`),
        text.map((t) => `smtp; ${t}\r\n\t${t}`),
        text,
      ),
    ),
  )
  .map((fs) => fs.filter((f) => f !== undefined).join("\r\n"));

const part = (type: string, body: string, cte = "7bit", charset = "us-ascii") =>
  `Content-Type: ${type}; charset=${charset}\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n${body}`;

/** A multipart/report, more or less well formed. */
const report = fc
  .record({
    boundary: fc.oneof(fc.constant("b0undary"), fc.string({ minLength: 0, maxLength: 70 })),
    subject: text,
    notice: text,
    cte: fc.constantFrom("7bit", "8bit", "base64", "quoted-printable", "x-unknown", ""),
    charset: fc.constantFrom("us-ascii", "utf-8", "iso-8859-1", "x-unknown", "utf-7", ""),
    statusType: fc.constantFrom("message/delivery-status", "message/global-delivery-status", "text/plain"),
    envelope: fc.array(
      fc.oneof(
        fc.constant("Reporting-MTA: dns; mx.example"),
        text.map((t) => `X-Field: ${t}`),
      ),
      {
        maxLength: 3,
      },
    ),
    groups: fc.array(recipientGroup, { maxLength: 4 }),
    originalType: fc.constantFrom("message/rfc822", "text/rfc822-headers", "message/global", "application/x"),
    original: fc.oneof(
      fc
        .tuple(fc.emailAddress(), text)
        .map(([rp, s]) => `Return-Path: <${rp}>\r\nMessage-ID: <${s}>\r\nSubject: ${s}\r\n\r\nbody`),
      text,
    ),
    nest: fc.nat(3),
    close: fc.boolean(),
  })
  .map((r) => {
    const b = r.boundary;
    const status = [r.envelope.join("\r\n"), ...r.groups].join("\r\n\r\n");
    let body = [
      `--${b}\r\n${part("text/plain", r.notice, r.cte, r.charset)}`,
      `--${b}\r\nContent-Type: ${r.statusType}\r\n\r\n${status}`,
      `--${b}\r\nContent-Type: ${r.originalType}\r\n\r\n${r.original}`,
    ].join("\r\n");
    if (r.close) body += `\r\n--${b}--\r\n`;
    // Nested: the report inside multipart/mixed parts.
    let type = `multipart/report; report-type=delivery-status; boundary="${b}"`;
    for (let i = 0; i < r.nest; i++) {
      const nb = `n${i}${b}`;
      body = `--${nb}\r\nContent-Type: ${type}\r\n\r\n${body}\r\n--${nb}--\r\n`;
      type = `multipart/mixed; boundary="${nb}"`;
    }
    return Buffer.from(
      `From: MAILER-DAEMON@mx.example\r\nSubject: ${r.subject}\r\nMIME-Version: 1.0\r\nContent-Type: ${type}\r\n\r\n${body}`,
    );
  });

export const dsn: FuzzTarget = {
  name: "dsn",
  shortRuns: 400,
  caseTimeoutMs: 10_000,
  async open() {
    const seeds = corpus();
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 6 }))
      .map(([seed, edits]) => edits.reduce(apply, seed));
    const input = fc.oneof(
      mutated,
      report,
      report.chain((r) => fc.array(edit, { maxLength: 3 }).map((es) => es.reduce(apply, r))),
      bytes(2000),
    );
    return {
      property: fc.asyncProperty(input, async (message) => {
        const r = await parseBounce(message);
        if (r.type === "bounce") {
          if (r.recipients.length === 0) throw new Error("a bounce without a failed recipient");
          for (const x of r.recipients)
            if (
              x.action !== "failed" ||
              (x.classification.result !== "hard" && x.classification.result !== "soft")
            )
              throw new Error(`odd recipient ${JSON.stringify(x)}`);
        } else if (!["auto_reply", "not_a_bounce", "no_failed_recipient"].includes(r.why)) {
          throw new Error(`odd answer ${JSON.stringify(r)}`);
        }
      }),
      close: async () => undefined,
    };
  },
};
