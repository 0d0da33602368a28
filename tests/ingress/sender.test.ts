/**
 * S7 and S11 edges over real sockets: every header From address must be on a verified domain, a
 * message without a From address is refused, a refused envelope sender's Rejected rows name the
 * recipients the client still sent, and content whose records could not be published is removed.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { StatusEvent } from "../../shared/model/event.ts";
import { eventsFor, RawClient, type Relay, startRelay } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function used(relay: Relay): Promise<number> {
  await relay.accounts.flush(); // S8: the node's unused quota credit back first (issue 16)
  return (await relay.node.service.quota(relay.accountId)).used;
}

/** MAIL, one RCPT, DATA with `body`: the reply to the end of DATA. */
async function submit(c: RawClient, body: string, rcpt = "bob@example.net"): Promise<string> {
  expect(await c.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
  expect(await c.cmd(`RCPT TO:<${rcpt}>`)).toBe("250 2.1.5 Accepted");
  expect(await c.cmd("DATA")).toMatch(/^354 /);
  return c.cmd(`${body}\r\n.`);
}

const rejected = (relay: Relay, rcpt: string, n = 1) =>
  eventsFor(relay, (e: StatusEvent) => e.status === "Rejected" && e.recipient === rcpt, n);

describe("S7: header From", () => {
  it.each([
    ["a second address on an unverified domain", "From: app@shop.example, Boss <ceo@evil.example>"],
    ["a second From line", "From: app@shop.example\r\nFrom: ceo@evil.example"],
    ["a group with an unverified member", "From: Team: app@shop.example, ceo@evil.example;"],
  ])("%s gets 550 5.7.1 Sender domain evil.example is not authenticated", async (_name, from) => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    const r = await submit(c, `${from}\r\nSubject: x\r\n\r\nhi`, "carol@example.net");
    expect(r).toBe("550 5.7.1 Sender domain evil.example is not authenticated");
    const [ev] = await rejected(relay, "carol@example.net");
    expect(ev?.reason).toBe("sender_domain_not_authenticated");
    expect(await relay.store.list()).toEqual([]);
    expect(await relay.records()).toEqual([]);
    expect(await used(relay)).toBe(0);
    c.close();
  });

  it.each([
    ["no From header", "Subject: x"],
    ["an empty From header", "From: \r\nSubject: x"],
    ["a From without an address", "From: undisclosed-senders:;\r\nSubject: x"],
  ])("%s gets 550 5.7.1 The From header is missing or has no address", async (_name, head) => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    const r = await submit(c, `${head}\r\n\r\nhi`, "dave@example.net");
    expect(r).toBe("550 5.7.1 The From header is missing or has no address");
    const [ev] = await rejected(relay, "dave@example.net");
    expect(ev?.remoteReply).toBe("550 5.7.1 The From header is missing or has no address");
    expect(await relay.store.list()).toEqual([]);
    expect(await used(relay)).toBe(0);
    c.close();
  });

  it("several verified authors are accepted", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    const r = await submit(
      c,
      'From: "Shop, Inc." <app@shop.example>, ops@SHOP.example\r\nSubject: x\r\n\r\nhi',
    );
    expect(r).toMatch(/^250 2\.0\.0 OK queued as /);
    c.close();
  });
});

describe("S7: a refused envelope sender", () => {
  it("its Rejected rows carry the recipients the client sent after it (each got 503)", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    // pipelined, as clients do: MAIL is refused, the RCPTs and DATA that follow get 503
    c.write(
      "MAIL FROM:<app@other.example>\r\nRCPT TO:<x1@example.net>\r\nRCPT TO:<x2@example.org>\r\nDATA\r\n",
    );
    expect(await c.reply()).toBe("550 5.7.1 Sender domain other.example is not authenticated");
    expect(await c.reply()).toMatch(/^503 /);
    expect(await c.reply()).toMatch(/^503 /);
    expect(await c.reply()).toMatch(/^503 /);
    expect(await c.cmd("RSET")).toMatch(/^250 /);
    const evs = await eventsFor(relay, (e) => e.status === "Rejected", 2);
    expect(evs.map((e) => [e.recipient, e.recipientDomain, e.reason, e.remoteReply])).toEqual([
      [
        "x1@example.net",
        "example.net",
        "sender_domain_not_authenticated",
        "550 5.7.1 Sender domain other.example is not authenticated",
      ],
      [
        "x2@example.org",
        "example.org",
        "sender_domain_not_authenticated",
        "550 5.7.1 Sender domain other.example is not authenticated",
      ],
    ]);
    expect(evs[0]?.messageId).toBe(evs[1]?.messageId);
    expect(evs[0]?.sender).toBe("app@other.example");
    c.close();
  });

  it("without any recipient it is one message-level Rejected row, published at QUIT", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.authenticated(relay);
    expect(await c.cmd("MAIL FROM:<app@other.example>")).toBe(
      "550 5.7.1 Sender domain other.example is not authenticated",
    );
    expect(await c.cmd("QUIT")).toMatch(/^221 /);
    const [ev] = await rejected(relay, "");
    expect(ev?.reason).toBe("sender_domain_not_authenticated");
    expect(relay.events.filter((e) => e.status === "Rejected")).toHaveLength(1);
  });
});

describe("S11: publishing fails after the content was stored", () => {
  it("answers 451, removes the content file and gives the quota back", async () => {
    const relay = await startRelay(cleanups);
    // Fault injection on the real actor system the ingress holds: the records' publish fails.
    const system = relay.node.system;
    const tellAll = system.tellAll.bind(system);
    system.tellAll = async () => {
      throw new Error("injected: bus unavailable");
    };
    const c = await RawClient.authenticated(relay);
    const r = await submit(c, "From: app@shop.example\r\nSubject: x\r\n\r\nhi");
    expect(r).toBe("451 4.3.0 Temporary failure, please try again later");
    expect(await relay.store.list()).toEqual([]);
    expect(await used(relay)).toBe(0);
    system.tellAll = tellAll;
    // the same session goes on working once the bus is back
    expect(await submit(c, "From: app@shop.example\r\nSubject: y\r\n\r\nhi")).toMatch(/^250 /);
    expect(await relay.store.list()).toHaveLength(1);
    c.close();
  });
});
