/**
 * ingress/splitter.ts hands body lines that cannot be boundaries on without mailsplit's line loop.
 * Its output must be mailsplit's own as the Joiner and intake read it: the same parts with the same
 * headers at the same places in the byte stream, the same bytes, the same bytes out of the Joiner
 * and the same error — for every kind of message (single-part, nested multiparts, embedded
 * messages, no body, no end of head, a head over the limit) cut into chunks anywhere, including
 * between the CR and LF of the empty line. (Whether the line break before a boundary ends the body
 * chunk or starts the boundary's data chunk may differ: mailsplit itself puts it either way, and
 * neither the Joiner nor intake tells body from data.)
 */
import { Readable } from "node:stream";
import fc from "fast-check";
import mailsplit from "mailsplit";
import { describe, expect, it } from "vitest";
import { bodyRun, headEnd, INLINE_LINES, inlineImmediates, Splitter } from "../../ingress/splitter.ts";

interface Run {
  /** Parts in order: headers, then the joined bytes of each body/data stretch between them. */
  events: string[];
  joined: string;
  error?: string;
  /** `body` chunks mailsplit-style line work would have made: only counted, to see the shortcut act. */
  chunks: number;
}

async function run(make: () => NodeJS.ReadWriteStream, chunks: Buffer[], recordHeaders = true): Promise<Run> {
  const splitter = make();
  const joiner = new mailsplit.Joiner();
  const events: string[] = [];
  let pending: { type: string; bytes: Buffer[] } | undefined;
  let count = 0;
  const flush = () => {
    if (pending) events.push(`${pending.type}:${Buffer.concat(pending.bytes).toString("latin1")}`);
    pending = undefined;
  };
  splitter.on("data", (c: { type: string; value?: Buffer; getHeaders?: () => Buffer; root?: boolean }) => {
    count++;
    if (c.type === "node") {
      flush();
      events.push(
        `node${c.root ? "(root)" : ""}:${recordHeaders ? c.getHeaders?.().toString("latin1") : ""}`,
      );
      return;
    }
    pending ??= { type: "bytes", bytes: [] }; // body and data alike (see the top)
    pending.bytes.push(c.value ?? Buffer.alloc(0));
  });
  const out: Buffer[] = [];
  joiner.on("data", (b: Buffer) => out.push(b));
  splitter.pipe(joiner);
  const done = new Promise<string | undefined>((resolve) => {
    joiner.on("end", () => resolve(undefined));
    splitter.on("error", (e: Error & { code?: string }) => resolve(`${e.code ?? ""} ${e.message}`));
  });
  Readable.from(chunks).pipe(splitter as unknown as NodeJS.WritableStream);
  const error = await done;
  flush();
  return {
    events,
    joined: Buffer.concat(out).toString("latin1"),
    chunks: count,
    ...(error ? { error } : {}),
  };
}

let lineCalls = 0;
/** `make`, with mailsplit's line parser counted in `lineCalls`. */
const counted = (make: () => NodeJS.ReadWriteStream) => () => {
  const s = make() as unknown as { processLine: (...a: unknown[]) => unknown };
  const processLine = s.processLine;
  s.processLine = (...a: unknown[]) => {
    lineCalls++;
    return processLine.apply(s, a);
  };
  return s as unknown as NodeJS.ReadWriteStream;
};

const stock = (max?: number) => () => new mailsplit.Splitter(max ? { maxHeadSize: max } : {});
const ours = (max?: number) => () => new Splitter(max ? { maxHeadSize: max } : {});

function cut(msg: string, at: number[]): Buffer[] {
  const buf = Buffer.from(msg, "latin1");
  const points = [...new Set(at.map((a) => a % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    parts.push(buf.subarray(prev, p));
    prev = p;
  }
  return parts.filter((p) => p.length > 0);
}

/**
 * Our splitter on `msg` cut at `at` against mailsplit on the whole message in one chunk (mailsplit
 * itself can misread a boundary whose line break is cut between chunks; ours must not), and
 * against mailsplit on the same chunks where `alsoCut` (well-formed input that mailsplit reads the
 * same either way).
 */
async function same(msg: string, at: number[], max?: number): Promise<Run> {
  const chunks = cut(msg, at);
  const a = await run(stock(max), [Buffer.from(msg, "latin1")]);
  const b = await run(ours(max), chunks);
  expect(b.error).toEqual(a.error);
  expect(b.events).toEqual(a.events);
  expect(b.joined).toEqual(a.joined);
  return b;
}

/**
 * For any input, well-formed or not: ours equals mailsplit on the same chunks or on one chunk.
 * (mailsplit's reading of a malformed part — a head that runs into a boundary — depends on where
 * the chunks are cut; intake refuses such a message when bytes go missing or parts are hidden.)
 */
async function sameAsSomeMailsplit(msg: string, at: number[]): Promise<void> {
  const chunks = cut(msg, at);
  const b = await run(ours(), chunks);
  const whole = await run(stock(), [Buffer.from(msg, "latin1")]);
  const cutToo = await run(stock(), chunks);
  const key = (r: Run) => JSON.stringify([r.error, r.events, r.joined]);
  expect([key(whole), key(cutToo)]).toContain(key(b));
}

const lines = (n: number, line = "x".repeat(76)) => `${line}\r\n`.repeat(n);
const SINGLE = `From: a@shop.example\r\nTo: r@example.net\r\nSubject: hi\r\n\r\n${lines(200)}`;
const MULTI =
  'From: a@shop.example\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\npreamble\r\n--b1\r\n' +
  "Content-Type: text/plain\r\n\r\nhello\r\n--b1\r\n" +
  'Content-Type: application/pdf; name="a.pdf"\r\nContent-Disposition: attachment; filename="a.pdf"\r\n\r\n' +
  `${lines(20, "QUJD")}--b1--\r\nepilogue\r\n`;
const EMBEDDED =
  "From: a@shop.example\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n" +
  'From: b@x.example\r\nContent-Type: multipart/alternative; boundary="z"\r\n\r\n--z\r\n\r\ninner\r\n--z--\r\n';

describe("headEnd", () => {
  it("finds the end of the head after its empty line, in every spelling, or says it is not there", () => {
    expect(headEnd(Buffer.from("A: b\r\n\r\nbody"), true)).toBe(8);
    expect(headEnd(Buffer.from("A: b\n\nbody"), true)).toBe(6);
    expect(headEnd(Buffer.from("\r\nbody"), true)).toBe(2);
    expect(headEnd(Buffer.from("\nbody"), true)).toBe(1);
    expect(headEnd(Buffer.from("\r\nbody"), false)).toBe(-1); // a line break carried over, not an empty line
    expect(headEnd(Buffer.from("\r\n\r\nbody"), false)).toBe(4);
    expect(headEnd(Buffer.from("A: b\r\nC: d\r\n"), true)).toBe(-1);
    expect(headEnd(Buffer.from("A: b\r\n\r\r\n"), true)).toBe(-1);
  });
});

describe("bodyRun", () => {
  it("skips the lines before the first line that may be a boundary, less the line break before it", () => {
    expect(bodyRun(Buffer.from("a\r\nb\r\n--q\r\nc"))).toEqual({ skip: 4, feed: 11 });
    expect(bodyRun(Buffer.from("a\nb\n\r--q\nc"))).toEqual({ skip: 3, feed: 9 });
    expect(bodyRun(Buffer.from("--q\r\nrest"))).toEqual({ skip: 0, feed: 5 });
    expect(bodyRun(Buffer.from("a--b\r\nc"))).toEqual({ skip: 4, feed: 7 }); // "--" inside a line is no boundary
    expect(bodyRun(Buffer.from("a\r\nb\r\npartial"))).toEqual({ skip: 4, feed: 13 });
    expect(bodyRun(Buffer.from("no line end"))).toEqual({ skip: 0, feed: 11 });
  });
});

describe("Splitter: mailsplit's output, without its line loop for single-part bodies", () => {
  it("a single-part message: same parts, bytes and joined output; the body goes on in the chunks it came in", async () => {
    const chunks = cut(SINGLE, [30, 2000, 9000]);
    const a = await run(stock(), chunks);
    const b = await run(ours(), chunks);
    expect(b.events).toEqual(a.events);
    expect(b.joined).toBe(SINGLE);
    expect(b.joined).toBe(a.joined);
    expect(b.chunks).toBeLessThanOrEqual(chunks.length + 1); // the root, then one piece per chunk
    // mailsplit's line parser read the 3 head lines and the empty line, not the 200 body lines.
    lineCalls = 0;
    await run(counted(stock()), chunks);
    expect(lineCalls).toBeGreaterThan(200);
    lineCalls = 0;
    await run(counted(ours()), chunks);
    expect(lineCalls).toBeLessThanOrEqual(5);
  });

  it("a multipart with a long attachment: mailsplit's output, its line parser reads heads and boundaries only", async () => {
    const msg = MULTI.replace(lines(20, "QUJD"), lines(1000, "QUJD".repeat(19)));
    const chunks = cut(msg, [100, 200, 16_384, 32_768, 65_536]);
    const a = await run(stock(), chunks);
    const b = await run(ours(), chunks);
    expect(b.events).toEqual(a.events);
    expect(b.joined).toBe(a.joined);
    lineCalls = 0;
    await run(counted(stock()), chunks);
    expect(lineCalls).toBeGreaterThan(1000);
    lineCalls = 0;
    await run(counted(ours()), chunks);
    expect(lineCalls).toBeLessThan(40);
  });

  it("multipart, embedded messages, no body, a head that never ends, an empty head: unchanged", async () => {
    for (const msg of [
      MULTI,
      EMBEDDED,
      "Subject: only a head\r\n",
      "Subject: x\r\n\r\n",
      "\r\nbody only\r\n",
    ])
      for (const at of [[], [1], [5, 17, 40], [msg.length - 1]]) await same(msg, at);
  });

  it("a head over the size limit fails as mailsplit fails", async () => {
    const big = `Subject: ${"y".repeat(3000)}\r\n\r\nbody\r\n`;
    const r = await same(big, [100, 2000], 1024);
    expect(r.error).toMatch(/EMAXLEN/);
  });

  it("the empty line cut between chunks anywhere (CR | LF, LF | CR LF): the same output", async () => {
    const head = "From: a@shop.example\r\nSubject: s\r\n";
    const msg = `${head}\r\nline one\r\n--not-a-boundary\r\n`;
    for (let i = head.length - 3; i <= head.length + 3; i++) await same(msg, [i]);
    for (let i = head.length - 3; i <= head.length + 3; i++) await same(msg, [i, i + 1]);
    const lf = "Subject: s\n\nbody\n";
    for (let i = 0; i <= lf.length; i++) await same(lf, [i]);
  });

  it("random (often malformed) messages cut at random points: mailsplit's output on these chunks or on one", async () => {
    const headerLine = fc.oneof(
      fc.constantFrom(
        "Subject: hello",
        "From: a@shop.example",
        'Content-Type: multipart/mixed; boundary="q"',
        "Content-Type: text/plain",
        "Content-Type: message/rfc822",
        "Content-Disposition: inline",
        "Content-Disposition: attachment; filename=x.exe",
        " folded continuation",
      ),
      fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, "")),
    );
    const bodyLine = fc.oneof(
      fc.constantFrom("--q", "--q--", "", "text", "Content-Type: text/html", "--", "."),
      fc.string({ maxLength: 90 }).map((s) => s.replace(/[\r\n]/g, "")),
    );
    const eol = fc.constantFrom("\r\n", "\n");
    await fc.assert(
      fc.asyncProperty(
        fc.array(headerLine, { maxLength: 6 }),
        fc.boolean(),
        fc.array(bodyLine, { maxLength: 30 }),
        eol,
        fc.array(fc.nat({ max: 4000 }), { maxLength: 6 }),
        async (head, ends, body, nl, at) => {
          const msg = `${head.map((h) => h + nl).join("")}${ends ? nl : ""}${body.map((l) => l + nl).join("")}`;
          if (msg.length === 0) return;
          await sameAsSomeMailsplit(msg, at);
        },
      ),
      { numRuns: Number(process.env.SPLITTER_RUNS ?? 300) },
    );
  });

  it("random nested multiparts (bodies with dash lines, near-boundaries, both line ends) cut at random points", async () => {
    const bodyLine = fc.oneof(
      // near-boundaries only: a real boundary inside a body makes malformed MIME (next test)
      fc.constantFrom("", "--", "-- ", "--b0x", "--b0-", "--b1 x", "---", "text", "QUJDRA=="),
      fc.string({ maxLength: 80 }).map((s) => s.replace(/[\r\n]/g, "")),
    );
    type Part = { kind: "leaf"; lines: string[]; type: string } | { kind: "multi"; parts: Part[] };
    const part: fc.Arbitrary<Part> = fc.letrec<{ part: Part }>((tie) => ({
      part: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.record({
          kind: fc.constant("leaf" as const),
          lines: fc.array(bodyLine, { maxLength: 12 }),
          type: fc.constantFrom("text/plain", "text/html", "application/pdf", "message/rfc822"),
        }),
        fc.record({ kind: fc.constant("multi" as const), parts: fc.array(tie("part"), { maxLength: 3 }) }),
      ),
    })).part;
    let seq = 0;
    const render = (p: Part, nl: string): string => {
      if (p.kind === "leaf") return `Content-Type: ${p.type}${nl}${nl}${p.lines.join(nl)}`;
      const b = `b${seq++}`;
      const inner = p.parts.map((c) => `--${b}${nl}${render(c, nl)}${nl}`).join("");
      return `Content-Type: multipart/mixed; boundary="${b}"${nl}${nl}pre${nl}${inner}--${b}--${nl}post`;
    };
    await fc.assert(
      fc.asyncProperty(
        part,
        fc.constantFrom("\r\n", "\n"),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 8 }),
        async (p, nl, at) => {
          seq = 0;
          await same(`From: a@shop.example${nl}${render(p, nl)}${nl}`, at);
        },
      ),
      { numRuns: Number(process.env.SPLITTER_RUNS ?? 400) },
    );
  });
});

describe("inlineImmediates: mailsplit's per-line setImmediate as a loop", () => {
  it("runs what the call defers before it returns, in order, then restores setImmediate", () => {
    const real = globalThis.setImmediate;
    const order: string[] = [];
    inlineImmediates(() => {
      setImmediate(() => {
        order.push("first");
        setImmediate((x: string) => order.push(x), "third");
      });
      setImmediate(() => order.push("second"));
      order.push("call");
    });
    expect(order).toEqual(["call", "first", "second", "third"]);
    expect(globalThis.setImmediate).toBe(real);
  });

  it("restores setImmediate when the call throws", () => {
    const real = globalThis.setImmediate;
    expect(() =>
      inlineImmediates(() => {
        throw new Error("parser failed");
      }),
    ).toThrow("parser failed");
    expect(globalThis.setImmediate).toBe(real);
  });

  it(`after ${INLINE_LINES} deferred callbacks the rest wait for the event loop as before`, async () => {
    let ran = 0;
    const step = (): void => {
      ran++;
      if (ran < INLINE_LINES + 10) setImmediate(step);
    };
    inlineImmediates(() => setImmediate(step));
    expect(ran).toBe(INLINE_LINES);
    await new Promise((r) => setTimeout(r, 50));
    expect(ran).toBe(INLINE_LINES + 10);
  });

  it("a head is read without waiting for a turn of the event loop per line (mailsplit alone waits)", async () => {
    const head = Array.from({ length: 20 }, (_, i) => `X-Header-${i}: value ${i}\r\n`).join("");
    const message = Buffer.from(`${head}Subject: hi\r\n\r\nbody\r\n`);
    const nodesAfterOneTurn = async (splitter: NodeJS.ReadWriteStream) => {
      let nodes = 0;
      splitter.on("data", (c: { type: string }) => {
        if (c.type === "node") nodes++;
      });
      splitter.write(message);
      await new Promise((r) => setImmediate(r));
      return nodes;
    };
    expect(await nodesAfterOneTurn(new Splitter())).toBe(1);
    expect(await nodesAfterOneTurn(new mailsplit.Splitter())).toBe(0);
  });
});
