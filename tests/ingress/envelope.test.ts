/**
 * S5–S10, S14 over real sockets with exact replies, and the Activity events of every accepted
 * and refused recipient. Raw sockets where the client must be made to misbehave.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { StatusEvent } from "../../shared/model/event.ts";
import { waitFor } from "../helpers/wait.ts";
import { eventsFor, message, RawClient, type Relay, SANDBOX, startRelay, transport } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function used(relay: Relay): Promise<number> {
  await relay.accounts.flush(); // S8: the node's unused quota credit back first (issue 16)
  return (await relay.node.service.quota(relay.accountId)).used;
}

async function data(c: RawClient, body: string): Promise<string> {
  const r = await c.cmd("DATA");
  if (!r.startsWith("354")) return r;
  return c.cmd(`${body}\r\n.`);
}

const rejected = (relay: Relay, reason: StatusEvent["reason"], n = 1) =>
  eventsFor(relay, (e) => e.status === "Rejected" && e.reason === reason, n);

describe("envelope policy", () => {
  it("S5: RCPT 51 gets 452 4.5.3, the first 50 proceed; the refused one is a Rejected event", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
    for (let i = 0; i < 50; i++)
      expect(await c.cmd(`RCPT TO:<r${i}@example.net>`)).toBe("250 2.1.5 Accepted");
    expect(await c.cmd("RCPT TO:<r50@example.net>")).toBe("452 4.5.3 Too many recipients");
    const r = await data(c, "From: app@shop.example\r\nSubject: fifty\r\n\r\nhi");
    expect(r).toMatch(/^250 2\.0\.0 OK queued as /);
    const [ev] = await rejected(relay, "too_many_recipients");
    expect(ev?.recipient).toBe("r50@example.net");
    const accepted = await eventsFor(relay, (e) => e.status === "Accepted", 50);
    expect(accepted).toHaveLength(50);
    expect(await used(relay)).toBe(50);
    c.close();
  });

  it("S6: SIZE is advertised; SIZE= above it gets 552 5.3.4; a body growing past it gets 552 5.3.4 and nothing is queued", async () => {
    const relay = await startRelay(cleanups, { limits: { maxMessageBytes: 64 * 1024 } });
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd(`MAIL FROM:<app@shop.example> SIZE=${64 * 1024 + 1}`)).toBe(
      "552 5.3.4 Message size exceeds fixed maximum message size",
    );
    expect(await c.cmd("MAIL FROM:<app@shop.example> SIZE=1000")).toBe("250 2.1.0 Accepted");
    expect(await c.cmd("RCPT TO:<big@example.net>")).toBe("250 2.1.5 Accepted");
    const line = `${"x".repeat(998)}\r\n`;
    const r = await data(c, `From: app@shop.example\r\nSubject: big\r\n\r\n${line.repeat(80)}`);
    expect(r).toBe("552 5.3.4 Message size exceeds fixed maximum message size");
    expect(await relay.store.list()).toEqual([]);
    expect(await relay.records()).toEqual([]);
    await rejected(relay, "message_too_large");
    expect(await used(relay)).toBe(0); // S8: the reservation is given back
    c.close();
  });

  it("S7: an unverified envelope or header From domain gets 550 5.7.1 and a Rejected event", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd("MAIL FROM:<app@other.example>")).toBe(
      "550 5.7.1 Sender domain other.example is not authenticated",
    );
    // the refused sender's Rejected row is published when the client moves on (here: MAIL)
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
    await rejected(relay, "sender_domain_not_authenticated");
    expect(await c.cmd("RCPT TO:<bob@example.net>")).toBe("250 2.1.5 Accepted");
    const r = await data(c, "From: Boss <ceo@evil.example>\r\nSubject: x\r\n\r\nhi");
    expect(r).toBe("550 5.7.1 Sender domain evil.example is not authenticated");
    const evs = await rejected(relay, "sender_domain_not_authenticated", 2);
    expect(evs[1]?.recipient).toBe("bob@example.net");
    expect(await relay.records()).toEqual([]);
    expect(await used(relay)).toBe(0);
    c.close();
  });

  it("S8: recipients past the quota get 452 4.7.1 Monthly sending quota reached; concurrent sessions never overshoot", async () => {
    const relay = await startRelay(cleanups, { plan: "free" }); // 100 recipients
    await relay.node.service.reserveQuota(relay.accountId, 95);
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
    const replies: string[] = [];
    for (let i = 0; i < 8; i++) replies.push(await c.cmd(`RCPT TO:<q${i}@example.net>`));
    expect(replies.slice(0, 5)).toEqual(Array(5).fill("250 2.1.5 Accepted"));
    expect(replies.slice(5)).toEqual(Array(3).fill("452 4.7.1 Monthly sending quota reached"));
    await rejected(relay, "quota_reached", 3);
    // RSET gives the 5 reservations back
    expect(await c.cmd("RSET")).toMatch(/^250 /);
    await waitFor(async () => (await used(relay)) === 95, { what: "release on RSET" });
    // two sessions race for the last 5
    const d = await RawClient.authenticated(relay);
    await c.cmd("MAIL FROM:<app@shop.example>");
    await d.cmd("MAIL FROM:<app@shop.example>");
    const both = await Promise.all(
      [c, d].map(async (x) => {
        const out: string[] = [];
        for (let i = 0; i < 5; i++) out.push(await x.cmd(`RCPT TO:<z${i}@example.net>`));
        return out;
      }),
    );
    expect(both.flat().filter((r) => r.startsWith("250"))).toHaveLength(5);
    expect(await used(relay)).toBe(100);
    c.close();
    d.close();
  });

  it("S9: malformed addresses get 501 5.1.3; suppressed recipients are accepted and logged Rejected (suppressed)", async () => {
    const relay = await startRelay(cleanups, { suppressed: ["gone@example.net"] });
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd("MAIL FROM:<not-an-address>")).toBe("501 5.1.3 Bad sender address syntax");
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
    expect(await c.cmd("RCPT TO:<a..b@example.net>")).toBe("501 5.1.3 Bad recipient address syntax");
    expect(await c.cmd("RCPT TO:<gone@example.net>")).toBe("250 2.1.5 Accepted");
    expect(await c.cmd("RCPT TO:<ok@example.net>")).toBe("250 2.1.5 Accepted");
    const r = await data(c, "From: app@shop.example\r\nSubject: s9\r\n\r\nhi");
    expect(r).toMatch(/^250 2\.0\.0 OK queued as /);
    await rejected(relay, "invalid_address");
    const [sup] = await rejected(relay, "suppressed");
    expect(sup?.recipient).toBe("gone@example.net");
    const records = await relay.records();
    expect(records.map((x) => x.recipient)).toEqual(["ok@example.net"]);
    expect(await used(relay)).toBe(1);
    c.close();
  });

  it("S9/S13: a non-ASCII address needs SMTPUTF8", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
    expect(await c.cmd("RCPT TO:<josé@example.net>")).toBe("553 5.6.7 Non-ASCII address requires SMTPUTF8");
    expect(await c.cmd("RSET")).toMatch(/^250/);
    expect(await c.cmd("MAIL FROM:<app@shop.example> SMTPUTF8")).toBe("250 2.1.0 Accepted");
    c.write(Buffer.from("RCPT TO:<josé@example.net>\r\n", "utf8"));
    expect(await c.reply()).toBe("250 2.1.5 Accepted");
    c.close();
  });

  it("S10: an executable attachment gets 554 5.7.1 Attachment type not allowed: <name>; nothing queued", async () => {
    const relay = await startRelay(cleanups);
    const t = transport(relay);
    const err = await t
      .sendMail(
        message({ to: "bob@example.net", attachments: [{ filename: "setup.exe", content: "MZ..." }] }),
      )
      .catch((e: { response?: string }) => e);
    expect((err as { response?: string }).response).toBe("554 5.7.1 Attachment type not allowed: setup.exe");
    const ok = await t.sendMail(
      message({ to: "bob@example.net", attachments: [{ filename: "invoice.pdf", content: "%PDF-1.4" }] }),
    );
    expect(ok.response).toMatch(/^250 /);
    expect(await relay.store.list()).toHaveLength(1);
    await rejected(relay, "attachment_not_allowed");
    expect(await used(relay)).toBe(1);
  });

  it("S14: sandbox recipients are accepted, marked isTest, and use no quota", async () => {
    const relay = await startRelay(cleanups);
    const info = await transport(relay).sendMail(
      message({ to: [`delivered@${SANDBOX}`, `hardbounce@${SANDBOX}`, "real@example.net"] }),
    );
    expect(info.response).toMatch(/^250 /);
    const records = await relay.records();
    expect(records.map((r) => [r.recipient, r.isTest])).toEqual([
      [`delivered@${SANDBOX}`, true],
      [`hardbounce@${SANDBOX}`, true],
      ["real@example.net", false],
    ]);
    const evs = await eventsFor(relay, (e) => e.status === "Accepted", 3);
    expect(evs.filter((e) => e.isTest)).toHaveLength(2);
    expect(await used(relay)).toBe(1);
  });
});
