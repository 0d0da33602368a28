/**
 * SMTP clients of the slow-client flood (issue 17 point 4): sessions that connect from a given
 * loopback address (127.0.0.x) and then idle, drip a command line a byte at a time, or keep the
 * session alive with NOOPs; each records the last reply the relay sent before it closed. And a
 * normal client over STARTTLS + AUTH that times end-of-DATA → 250 for each message it sends.
 */
import { connect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";

export type SlowKind = "idle" | "drip" | "noop";

export interface SlowSession {
  kind: SlowKind;
  /** The greeting (220 …, or the 421 of a refused connection). */
  greeting: Promise<string>;
  /** The last reply line before the relay closed the connection ("" if none). */
  closed: Promise<string>;
  destroy(): void;
}

/**
 * `idle`: reads the greeting and sends nothing. `drip`: sends one byte of a command line that
 * never ends every `everyMs`. `noop`: sends a whole `NOOP` every `everyMs` (never idle).
 */
export function slowSession(port: number, localAddress: string, kind: SlowKind, everyMs = 500): SlowSession {
  const socket = connect({ host: "127.0.0.1", port, localAddress });
  let buf = "";
  let timer: NodeJS.Timeout | undefined;
  let greeted!: (s: string) => void;
  const greeting = new Promise<string>((r) => {
    greeted = r;
  });
  const line = "NOOP slowly-dripped-command-line-that-never-ends-";
  let i = 0;
  socket.setEncoding("latin1");
  socket.on("data", (d: string) => {
    buf = (buf + d).slice(-2048);
    if (/\r\n/.test(buf)) greeted(buf.split("\r\n")[0] as string);
  });
  socket.once("connect", () => {
    if (kind === "idle") return;
    timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      socket.write(kind === "noop" ? "NOOP\r\n" : (line[i++ % line.length] as string));
    }, everyMs);
  });
  socket.on("error", () => undefined);
  const closed = new Promise<string>((resolve) => {
    socket.once("close", () => {
      clearInterval(timer);
      greeted("");
      const lines = buf.split("\r\n").filter(Boolean);
      resolve(lines[lines.length - 1] ?? "");
    });
  });
  return { kind, greeting, closed, destroy: () => socket.destroy() };
}

/** A line-reading SMTP client over one socket (plain, then TLS after STARTTLS). */
export class LineClient {
  private buf = "";
  private waiters: (() => void)[] = [];

  private constructor(private socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  private attach(s: Socket | TLSSocket): void {
    s.on("data", (d: Buffer) => {
      this.buf += d.toString("latin1");
      for (const w of this.waiters.splice(0)) w();
    });
    s.on("close", () => {
      for (const w of this.waiters.splice(0)) w();
    });
    s.on("error", () => undefined);
  }

  static connect(port: number, localAddress = "127.0.0.1"): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port, localAddress }, () => resolve(new LineClient(s)));
      s.once("error", reject);
    });
  }

  async reply(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        return m[0].trimEnd();
      }
      if (this.socket.destroyed) return "";
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply; buffer: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  write(data: string): void {
    this.socket.write(data);
  }

  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** Greeting, EHLO, STARTTLS, EHLO, AUTH PLAIN. */
  static async authenticated(port: number, user: string, pass: string): Promise<LineClient> {
    const c = await LineClient.connect(port);
    await c.reply();
    await c.cmd("EHLO normal.test");
    const r = await c.cmd("STARTTLS");
    if (!r.startsWith("220")) throw new Error(`STARTTLS: ${r}`);
    const plain = c.socket as Socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    c.buf = "";
    await new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => resolve());
      s.once("error", reject);
      c.socket = s;
      c.attach(s);
    });
    await c.cmd("EHLO normal.test");
    const a = await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString("base64")}`);
    if (!a.startsWith("235")) throw new Error(`AUTH: ${a}`);
    return c;
  }

  /** One message; resolves the final reply and the ms from the end of DATA to it. */
  async sendTimed(from: string, to: string, body: string): Promise<{ reply: string; ms: number }> {
    for (const line of [`MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, "DATA"]) {
      const r = await this.cmd(line);
      if (!/^(250|354)/.test(r)) return { reply: r, ms: 0 };
    }
    this.write(`From: <${from}>\r\nTo: <${to}>\r\nSubject: timed\r\n\r\n${body}\r\n`);
    const t0 = performance.now();
    this.write(".\r\n");
    const reply = await this.reply();
    return { reply, ms: performance.now() - t0 };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The q-quantile (0..1) of `xs`, nearest rank. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}
