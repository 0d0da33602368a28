/**
 * data-stream.ts's fast path for nodemailer's DATA encoder: the same bytes, counts and last byte
 * as nodemailer's own loop on generated chunks cut anywhere (dots at line starts, bare CR and LF,
 * CRLF split across chunks); and through a real pool connection to a real smtp-server, a message
 * with dot lines arrives exactly as stored.
 */
import fc from "fast-check";
import DataStream from "nodemailer/lib/smtp-connection/data-stream.js";
import { SMTPServer } from "smtp-server";
import { afterAll, describe, expect, it } from "vitest";
import { fastTransform, originalTransform, unchanged } from "../../actors/delivery/data-stream.ts";
import { ConnectionPool } from "../../actors/delivery/pool.ts";

type Fn = typeof originalTransform;

function encode(fn: Fn, chunks: Buffer[]) {
  const s = new DataStream();
  const out: Buffer[] = [];
  s.push = (b: Buffer | null) => {
    if (b) out.push(Buffer.from(b));
    return true;
  };
  for (const c of chunks)
    fn.call(s, c, "binary", (e) => {
      if (e) throw e;
    });
  return {
    bytes: Buffer.concat(out).toString("latin1"),
    in: s.inByteCount,
    out: s.outByteCount,
    last: s.lastByte,
  };
}

const piece = fc.constantFrom("x", "abc", ".", "..", "\r", "\n", "\r\n", "\r\n.", "\n.", "\r.", " ");
const chunk = fc.array(piece, { maxLength: 40 }).map((p) => Buffer.from(p.join("")));

describe("nodemailer DATA encoder fast path (data-stream.ts)", () => {
  it("encodes every chunk sequence exactly as nodemailer does", () => {
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 6 }), (chunks) => {
        expect(encode(fastTransform as Fn, chunks)).toEqual(encode(originalTransform, chunks));
      }),
      { numRuns: 5000 },
    );
  });

  it("takes the fast path only for a chunk nodemailer leaves alone", () => {
    const crlf = Buffer.from("a\r\nb\r\n");
    expect(unchanged(crlf, false)).toBe(true);
    expect(unchanged(Buffer.from("\nb"), 0x0d)).toBe(true); // the CR ended the chunk before
    expect(unchanged(Buffer.from(".a\r\n"), false)).toBe(false); // a dot first in the stream
    expect(unchanged(Buffer.from("a\r\n.b"), false)).toBe(false);
    expect(unchanged(Buffer.from("a\nb"), false)).toBe(false);
    expect(unchanged(Buffer.from("a\rb"), false)).toBe(false);
    expect(unchanged(Buffer.from("b"), 0x0d)).toBe(false);
  });

  const received: Buffer[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _s, cb) {
      const parts: Buffer[] = [];
      stream.on("data", (d: Buffer) => parts.push(d));
      stream.on("end", () => {
        received.push(Buffer.concat(parts));
        cb();
      });
    },
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("a message with dot lines reaches a real smtp-server as stored, through the pool's connection", async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.server.address() as { port: number }).port;
    const pool = new ConnectionPool({
      name: "relay.test",
      connectionTimeoutMs: 2000,
      socketTimeoutMs: 5000,
      greetingTimeoutMs: 5000,
      idleMs: 100,
      rejectUnauthorized: false,
    });
    expect(pool.fastDataStream).toBe(true);
    const body = `Subject: dots\r\n\r\n${"line\r\n".repeat(3000)}.\r\n..two\r\n.end\r\n${"x".repeat(70)}\r\n`;
    const message = Buffer.from(body);
    const lease = await pool.acquire("rcpt.test", "mx.rcpt.test", "127.0.0.1", port, 1);
    await new Promise<void>((resolve, reject) =>
      lease.conn.send({ from: "a@relay.test", to: ["r@rcpt.test"] }, message, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    lease.release(true);
    expect(received).toHaveLength(1);
    expect(received[0]!.equals(message)).toBe(true);
  });
});
