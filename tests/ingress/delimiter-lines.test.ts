/**
 * ingress/delimiter-lines.ts scans the body bytes where intake used to decode every chunk as latin1
 * and split it into lines. Same counts as that text version (kept below as the reference), whatever
 * the chunk edges: every split of a few sample bodies in two (and into single bytes), delimiters
 * learnt between chunks, and random bodies cut at random points.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DelimiterLineCounter } from "../../ingress/delimiter-lines.ts";

/** The text version, as intake had it (MimeInspector.countDelimiters). */
class TextCounter {
  count = 0;
  private partial = "";
  constructor(private readonly delimiters: ReadonlySet<string>) {}
  push(value: Buffer): void {
    if (this.delimiters.size === 0) return;
    const text = this.partial + value.toString("latin1");
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines)
      if (line.startsWith("--") && this.delimiters.has(line.replace(/[ \t\r]+$/, ""))) this.count++;
  }
}

const FLUSH = Buffer.from("\r\n");

/**
 * Feeds `chunks` to both counters; before chunk i, the delimiters `learn[i]` join the set (as
 * intake adds a multipart's boundary when mailsplit hands its headers on). Ends as intake's flush.
 */
function both(chunks: Buffer[], learn: string[][] = [], start: string[] = []): [number, number] {
  const bytesSet = new Set(start);
  const textSet = new Set(start);
  const bytes = new DelimiterLineCounter(bytesSet);
  const text = new TextCounter(textSet);
  chunks.forEach((chunk, i) => {
    for (const d of learn[i] ?? []) {
      bytesSet.add(d);
      textSet.add(d);
    }
    bytes.push(chunk);
    text.push(chunk);
  });
  bytes.push(FLUSH);
  text.push(FLUSH);
  return [bytes.count, text.count];
}

const SAMPLES: { name: string; body: string; delimiters: string[] }[] = [
  {
    name: "nested multiparts, closing delimiters, trailing blanks, a near miss",
    delimiters: ["--outer", "--in.ner"],
    body:
      "preamble\r\n--outer\r\nContent-Type: multipart/alternative; boundary=in.ner\r\n\r\n" +
      "--in.ner \t\r\ntext\r\n-- in.ner\r\n--in.nerX\r\n--in.ner\r\n<p>x</p>\r\n--in.ner--\r\n" +
      "--outer\r\nContent-Type: text/plain\r\n\r\na line -- with --outer inside\r\n---outer\r\n--outer--\r\nepilogue",
  },
  {
    name: "bare LFs, a delimiter at the very start and at the very end without a line end",
    delimiters: ["--b"],
    body: "--b\n-\n--\n--b\r\r\r\n\n\n--b  \n--bb\n--b",
  },
  {
    name: "latin1 bytes in a boundary and a line of blanks after a delimiter",
    delimiters: ["--café", "--x"],
    body: `--café\r\n${"x".repeat(40)}\r\n--caf\r\n--café${" ".repeat(30)}\r\n--x\t\r\n-x\r\n--x--\r\n`,
  },
];

describe("DelimiterLineCounter counts as the text version did", () => {
  for (const s of SAMPLES) {
    const body = Buffer.from(s.body, "latin1");

    it(`${s.name}: split in two at every position`, () => {
      const whole = both([body], [], s.delimiters);
      expect(whole[0]).toBe(whole[1]);
      expect(whole[0]).toBeGreaterThan(0);
      for (let i = 0; i <= body.length; i++) {
        const r = both([body.subarray(0, i), body.subarray(i)], [], s.delimiters);
        expect(r, `split at ${i}`).toEqual([whole[1], whole[1]]);
      }
    });

    it(`${s.name}: split in three at every pair of positions, a delimiter learnt at each edge`, () => {
      const [first, ...rest] = s.delimiters;
      for (let i = 0; i <= body.length; i++)
        for (let j = i; j <= body.length; j++) {
          const chunks = [body.subarray(0, i), body.subarray(i, j), body.subarray(j)];
          const [bytes, text] = both(chunks, [[], [first as string], rest]);
          expect(bytes, `split at ${i}, ${j}`).toBe(text);
        }
    });

    it(`${s.name}: one byte per chunk, and nothing read before the first delimiter is known`, () => {
      const single = [...body].map((b) => Buffer.from([b]));
      const [bytes, text] = both(single, [], s.delimiters);
      expect(bytes).toBe(text);
      for (let k = 0; k <= single.length; k += 7) {
        const learn: string[][] = [];
        learn[k] = s.delimiters;
        const [b, t] = both(single, learn);
        expect(b, `learnt before byte ${k}`).toBe(t);
      }
    });
  }

  it("on random bodies cut at random points (fast-check)", () => {
    const piece = fc.constantFrom(
      "-",
      "--",
      "a",
      "b",
      "é",
      " ",
      "\t",
      "\r",
      "\n",
      "\r\n",
      "--a",
      "--b",
      "--é",
    );
    const body = fc.array(piece, { maxLength: 60 }).map((p) => Buffer.from(p.join(""), "latin1"));
    const delimiters = fc.subarray(["--a", "--b", "--é", "--a ", "--", "--ā"]);
    fc.assert(
      fc.property(body, fc.array(fc.nat(), { maxLength: 6 }), delimiters, fc.nat(6), (b, cuts, ds, at) => {
        const edges = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
        const chunks = [0, ...edges].map((from, i) => b.subarray(from, edges[i] ?? b.length));
        const learn: string[][] = [];
        learn[Math.min(at, chunks.length - 1)] = ds;
        const [bytes, text] = both(chunks, learn);
        expect(bytes).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
