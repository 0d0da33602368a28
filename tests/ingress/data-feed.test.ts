/**
 * data-feed.ts's fast path for smtp-server's DATA parser: on generated chunk sequences cut anywhere
 * (escape dots, the end of DATA split across chunks, bare LF before a dot, commands pipelined after
 * the message) the data stream carries the same bytes, with the same byte count and size verdict,
 * and the same commands follow, as with smtp-server's own parser; and through a real smtp-server
 * with the fast path installed, a 200 KiB message with dot lines at every offset arrives exactly
 * as nodemailer sent it.
 */
import fc from "fast-check";
import nodemailer from "nodemailer";
import { SMTPServer } from "smtp-server";
import { SMTPStream } from "smtp-server/lib/smtp-stream.js";
import { afterAll, describe, expect, it } from "vitest";
import { fastFeed, installDataFeedFastPath, originalFeed, plain } from "../../ingress/data-feed.ts";

type Feed = ReturnType<typeof fastFeed>;

/** Feeds `chunks` to a parser in data mode with `feed`; what the data stream and the command parser got. */
async function parse(feed: Feed, chunks: Buffer[], maxBytes: number) {
  const s = new SMTPStream() as SMTPStream & { _feedDataStream: Feed };
  s._feedDataStream = feed;
  const commands: string[] = [];
  s.oncommand = (cmd: Buffer, cb?: () => void) => {
    commands.push(cmd.toString("latin1"));
    cb?.();
  };
  const data = s.startDataMode(maxBytes);
  const out: Buffer[] = [];
  let ended = false;
  data.on("data", (c: Buffer) => out.push(Buffer.from(c)));
  data.on("end", () => {
    ended = true;
    s.continue();
  });
  const finished = new Promise<void>((r) => s.on("finish", () => r()));
  for (const c of chunks) s.write(c);
  s.end();
  await finished;
  await new Promise((r) => setImmediate(r));
  return {
    data: Buffer.concat(out).toString("latin1"),
    dataBytes: s.dataBytes,
    byteLength: data.byteLength,
    sizeExceeded: data.sizeExceeded,
    ended,
    commands,
  };
}

const piece = fc.constantFrom(
  "x",
  "abcdef",
  ".",
  "..",
  "\r",
  "\n",
  "\r\n",
  "\r\n.",
  "\n.",
  ".\r\n",
  "\r\n.\r\n",
  "\r\n..\r\n",
  "QUIT\r\n",
);
const chunk = fc.array(piece, { minLength: 1, maxLength: 12 }).map((p) => Buffer.from(p.join("")));

describe("smtp-server DATA parser fast path (data-feed.ts)", () => {
  it("parses every chunk sequence exactly as smtp-server does", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(chunk, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(20, 1_000_000),
        async (chunks, maxBytes) => {
          // 4: the fast path takes every chunk it can, not only the long ones it takes in the relay
          const fast = await parse(fastFeed(4), chunks, maxBytes);
          expect(fast).toEqual(await parse(originalFeed, chunks, maxBytes));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("takes only chunks in which smtp-server would find no dot at a line start", () => {
    expect(plain(Buffer.from("ab\r\ncd\r\n"), undefined)).toBe(true);
    expect(plain(Buffer.from("ab\r\n.cd"), undefined)).toBe(false);
    expect(plain(Buffer.from(".cd"), Buffer.from("ab\r\n"))).toBe(false); // across the held bytes
    expect(plain(Buffer.from("cd"), Buffer.from("a\n.b"))).toBe(false); // in the held bytes
    expect(plain(Buffer.from(".cd"), Buffer.from("ab\r"))).toBe(true); // no LF before the dot
  });

  const received: Buffer[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, cb) {
      const parts: Buffer[] = [];
      stream.on("data", (c: Buffer) => parts.push(c));
      stream.on("end", () => {
        received.push(Buffer.concat(parts));
        cb();
      });
    },
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("receives a long message with dot lines everywhere exactly, through a real smtp-server", async () => {
    expect(installDataFeedFastPath()).toBe(true);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.server.address() as { port: number }).port;
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
    // Lines of every length from 1 to 97 bytes, a dot-led one every 7th: dots land at every offset
    // of the socket's chunks, as do CRLFs.
    const lines: string[] = [];
    for (let i = 0, size = 0; size < 200_000; i++) {
      const line = `${i % 7 === 0 ? "." : ""}${"y".repeat(i % 97)}${i % 11 === 0 ? ".." : ""}`;
      lines.push(line);
      size += line.length + 2;
    }
    const raw = `From: a@example.com\r\nTo: b@example.com\r\nSubject: dots\r\n\r\n${lines.join("\r\n")}\r\n`;
    for (let n = 0; n < 3; n++)
      await transport.sendMail({
        envelope: { from: "a@example.com", to: ["b@example.com"] },
        raw: Buffer.from(raw),
      });
    transport.close();
    expect(received).toHaveLength(3);
    for (const got of received) expect(got.toString("latin1")).toBe(raw);
  });
});
