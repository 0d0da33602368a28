/**
 * S13 protocol hardening over raw sockets: SMTP smuggling (bare LF/CR never end DATA and are never
 * relayed as such), STARTTLS pipelining discarded, line and header limits, error count, idle and
 * total session time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { greetAfter, type RawConnection } from "../../ingress/harden.ts";
import { RawClient, startRelay } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const SMUGGLES: [string, string][] = [
  ["\\n.\\n", "\n.\n"],
  ["\\r.\\r", "\r.\r"],
  ["\\n.\\r\\n", "\n.\r\n"],
  ["\\r\\n.\\n", "\r\n.\n"],
];

describe("S13 hardening", () => {
  it.each(SMUGGLES)("SMTP smuggling: %s inside DATA does not end the message", async (_name, seq) => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
    expect(await c.cmd("RCPT TO:<bob@example.net>")).toBe("250 2.1.5 Accepted");
    expect(await c.cmd("DATA")).toMatch(/^354 /);
    const smuggled = `MAIL FROM:<app@shop.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nFrom: app@shop.example\r\n\r\nsmuggled\r\n`;
    c.write(`From: app@shop.example\r\nSubject: outer\r\n\r\nbefore${seq}${smuggled}.\r\n`);
    const r = await c.reply();
    expect(r).toMatch(/^250 2\.0\.0 OK queued as /);
    expect(await c.cmd("NOOP")).toMatch(/^250 /); // nothing else was answered in between
    const records = await relay.records();
    expect(records.map((x) => x.recipient)).toEqual(["bob@example.net"]);
    const ref = (records[0] as { contentRef: string }).contentRef;
    let body = "";
    for await (const ch of await relay.store.get(ref)) body += ch.toString("latin1");
    expect(body).toContain("victim@example.org"); // the payload stayed inside the message
    expect(body.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/); // no bare CR or LF relayed
    c.close();
  });

  it("discards commands pipelined after STARTTLS", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.connect(relay.ingress.ports.submission);
    await c.reply();
    await c.cmd("EHLO client.test");
    c.write("STARTTLS\r\nNOOP\r\nNOOP\r\n");
    // only the STARTTLS reply comes back in plaintext
    expect(await c.reply()).toMatch(/^220 /);
    const c2 = c as unknown as { buf: string; socket: import("node:net").Socket };
    expect(c2.buf).toBe("");
    c.close();
  });

  it("a configured greeting delay refuses a client that talks before the greeting (421)", async () => {
    // smtp-server's fixed 100 ms pause is replaced (harden.ts greetAfter): here a long pause
    // from the limits; the EHLO comes 400 ms in, after smtp-server's own pause would have ended.
    const relay = await startRelay(cleanups, { limits: { greetingDelayMs: 60_000 } });
    const c = await RawClient.connect(relay.ingress.ports.submission);
    await new Promise((r) => setTimeout(r, 400));
    c.write("EHLO early.test\r\n");
    expect(await c.reply()).toMatch(/^421 .*talk too soon/);
    c.close();
  });

  it("with no greeting delay (the default) the connection is made ready at once, with no timer", () => {
    let ready = 0;
    const conn = {
      _setListeners: (cb: () => void) => cb(),
      connectionReady: () => ready++,
    } as unknown as RawConnection;
    greetAfter(conn, 0);
    conn.init();
    expect(ready).toBe(1);
    greetAfter(conn, 50);
    conn.init();
    expect(ready).toBe(1); // a delay defers it
  });

  it("with no greeting delay the greeting is the first thing said", async () => {
    const relay = await startRelay(cleanups, { limits: { greetingDelayMs: 0 } });
    const c = await RawClient.connect(relay.ingress.ports.submission);
    expect(await c.reply()).toMatch(/^220 /);
    expect(await c.cmd("EHLO client.test")).toMatch(/^250[ -]/);
    c.close();
  });

  it("closes the session on a command line past the limit", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.connect(relay.ingress.ports.submission);
    await c.reply();
    expect(await c.cmd(`EHLO ${"a".repeat(5000)}`)).toBe("421 4.4.2 Error: Command line too long");
    expect(await c.reply()).toBe("");
  });

  it("refuses a header block past the limit with 552 5.3.4", async () => {
    const relay = await startRelay(cleanups, { limits: { maxHeaderBytes: 2048 } });
    const c = await RawClient.authenticated(relay);
    await c.cmd("MAIL FROM:<app@shop.example>");
    await c.cmd("RCPT TO:<bob@example.net>");
    await c.cmd("DATA");
    const headers = Array.from({ length: 100 }, (_, i) => `X-Filler-${i}: ${"y".repeat(60)}`).join("\r\n");
    expect(await c.cmd(`From: app@shop.example\r\n${headers}\r\n\r\nbody\r\n.`)).toBe(
      "552 5.3.4 Message header exceeds the maximum header size",
    );
    expect(await relay.records()).toEqual([]);
    c.close();
  });

  it("closes the session with 421 after too many errors", async () => {
    const relay = await startRelay(cleanups, { limits: { maxBadCommands: 3 } });
    const c = await RawClient.connect(relay.ingress.ports.submission);
    await c.reply();
    await c.cmd("EHLO client.test");
    expect(await c.cmd("FOO")).toMatch(/^5\d\d /);
    expect(await c.cmd("MAIL FROM:<a@b.example>")).toMatch(/^530 /);
    c.write("BAZ\r\n");
    expect(await c.reply()).toMatch(/^5\d\d /);
    expect(await c.reply()).toBe("421 4.7.0 Too many errors, closing connection");
    expect(await c.reply()).toBe(""); // closed
  });

  it("closes an idle session with 421 4.4.2", async () => {
    const relay = await startRelay(cleanups, { limits: { idleTimeoutMs: 300 } });
    const c = await RawClient.connect(relay.ingress.ports.submission);
    await c.reply();
    const r = await c.reply();
    expect(r).toMatch(/^421 4\.4\.2 /);
  });

  it("cuts a client that drips its message below the minimum data rate with 421 4.4.2", async () => {
    const relay = await startRelay(cleanups, { limits: { idleTimeoutMs: 500, minDataRate: 1024 } });
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
    expect(await c.cmd("RCPT TO:<bob@example.net>")).toBe("250 2.1.5 Accepted");
    expect(await c.cmd("DATA")).toMatch(/^354 /);
    c.write("From: app@shop.example\r\n");
    let reply = "";
    for (let i = 0; i < 100 && !c.closed; i++) {
      c.write("X");
      reply = await c.reply(200).catch(() => "");
      if (reply) break;
    }
    expect(reply).toBe("421 4.4.2 Data rate too low, closing connection");
    expect(await relay.records()).toEqual([]);
    expect(await relay.store.list()).toEqual([]);
  });

  it("ends a session that drips commands past the total session time with 421 4.4.2", async () => {
    const relay = await startRelay(cleanups, { limits: { maxSessionMs: 800 } });
    const c = await RawClient.connect(relay.ingress.ports.submission);
    await c.reply();
    let last = "";
    for (let i = 0; i < 100; i++) {
      if (!c.closed) c.write("NOOP\r\n");
      last = await c.reply();
      if (!last.startsWith("250")) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(last).toBe("421 4.4.2 Session time limit reached, closing connection");
  });
});
