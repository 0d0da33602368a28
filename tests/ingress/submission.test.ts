/**
 * S1, S2, S11, S12 over real sockets: nodemailer submits over 587 (STARTTLS) and 465 (implicit
 * TLS); raw sockets check what is refused before TLS, with the exact replies of SPEC.
 */
import { afterEach, describe, expect, it } from "vitest";
import { message, RawClient, startRelay, transport } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

describe("S1/S2/S11/S12 submission", () => {
  it("accepts over STARTTLS and SMTPS with AUTH PLAIN and LOGIN, answering 250 2.0.0 OK queued as <id>", async () => {
    const relay = await startRelay(cleanups);
    const plain = transport(relay);
    const info = await plain.sendMail(message({ to: "bob@example.net" }));
    expect(info.response).toMatch(/^250 2\.0\.0 OK queued as [0-9A-Z]{26}$/);
    const login = transport(relay, { smtps: true });
    (login.options as { authMethod?: string }).authMethod = "LOGIN";
    const info2 = await login.sendMail(message({ to: ["a@example.net", "b@example.org"] }));
    expect(info2.response).toMatch(/^250 2\.0\.0 OK queued as [0-9A-Z]{26}$/);
    const id = /queued as (\S+)/.exec(info2.response)?.[1] as string;
    const records = await relay.records();
    expect(records.filter((r) => r.messageId === id).map((r) => r.recipient)).toEqual([
      "a@example.net",
      "b@example.org",
    ]);
    // S12: Message-ID and Date are there (nodemailer sets them; the stored copy keeps them)
    const rec = records.find((r) => r.messageId === id) as { contentRef: string };
    const stored = await relay.store.get(rec.contentRef);
    let text = "";
    for await (const c of stored) text += c.toString();
    expect(text).toMatch(/^Message-ID: /im);
    expect(text).toMatch(/^Date: /im);
  });

  it("refuses AUTH and MAIL before STARTTLS with 530 5.7.0 and hides AUTH from the pre-TLS EHLO", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.connect(relay.ingress.ports.submission);
    expect(await c.reply()).toMatch(/^220 /);
    const ehlo = await c.cmd("EHLO client.test");
    expect(ehlo).toContain("STARTTLS");
    expect(ehlo).not.toMatch(/AUTH/);
    expect(ehlo).toContain("SIZE 20971520");
    expect(await c.cmd("AUTH PLAIN AGZvbwBiYXI=")).toBe("530 5.7.0 Must issue a STARTTLS command first");
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("530 5.7.0 Must issue a STARTTLS command first");
    expect(await c.cmd("RCPT TO:<x@example.net>")).toBe("530 5.7.0 Must issue a STARTTLS command first");
    expect(await c.cmd("NOOP")).toMatch(/^250 /);
    expect(await c.starttls()).toMatch(/^220 /);
    const ehlo2 = await c.cmd("EHLO client.test");
    expect(ehlo2).toMatch(/AUTH PLAIN LOGIN/);
    expect(ehlo2).not.toContain("STARTTLS");
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("530 5.7.0 Authentication required");
    const auth = await c.cmd(
      `AUTH PLAIN ${Buffer.from(`\0${relay.user.username}\0${relay.user.password}`).toString("base64")}`,
    );
    expect(auth).toBe("235 2.7.0 Authentication successful");
    c.close();
  });

  it("adds Message-ID and Date when missing (S12) and normalizes bare line ends", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
    expect(await c.cmd("RCPT TO:<bob@example.net>")).toBe("250 2.1.5 Accepted");
    expect(await c.cmd("DATA")).toMatch(/^354 /);
    const r = await c.cmd("From: app@shop.example\r\nSubject: raw\r\n\r\nbody\nline\r\n.");
    expect(r).toMatch(/^250 2\.0\.0 OK queued as [0-9A-Z]{26}$/);
    const id = /queued as (\S+)/.exec(r)?.[1] as string;
    const records = await relay.records();
    const rec = records.find((x) => x.messageId === id) as { contentRef: string; subject: string };
    expect(rec.subject).toBe("raw");
    let text = "";
    for await (const ch of await relay.store.get(rec.contentRef)) text += ch.toString();
    expect(text).toContain(`Message-ID: <${id}@relay.test>`);
    expect(text).toMatch(/(^|\r\n)Date: .+GMT\r\n/);
    expect(text).toContain("body\r\nline\r\n");
    c.close();
  });
});
