/**
 * S3 (anti-brute-force) and S4 (simultaneous sessions per IP, SMTP user, account) over real
 * sockets; slots held as leases by the account actor are freed when a session dies, and a lease
 * left by a dead node lapses after its TTL (ManualClock).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SessionGrant } from "../../shared/model/account/protocol.ts";
import { waitFor } from "../helpers/wait.ts";
import { RawClient, startRelay } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const plain = (u: string, p: string) => `AUTH PLAIN ${Buffer.from(`\0${u}\0${p}`).toString("base64")}`;

async function tlsSession(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port, true);
  await c.reply();
  await c.cmd("EHLO client.test");
  return c;
}

describe("S3 anti-brute-force", () => {
  it("blocks the IP after 5 failed AUTHs within the window: in-flight AUTH and new connections get 421 4.7.0; the block expires", async () => {
    const relay = await startRelay(cleanups);
    const c = await tlsSession(relay.ingress.ports.smtps);
    for (let i = 0; i < 5; i++)
      expect(await c.cmd(plain(relay.user.username, `wrong${i}`))).toBe(
        "535 5.7.8 Authentication credentials invalid",
      );
    // the 6th attempt, even with the right password, is refused
    expect(await c.cmd(plain(relay.user.username, relay.user.password))).toBe(
      "421 4.7.0 Too many failed logins from your IP address, try again later",
    );
    const d = await RawClient.connect(relay.ingress.ports.submission);
    expect(await d.reply()).toBe("421 4.7.0 Too many failed logins from your IP address, try again later");
    relay.node.clock.advance(15 * 60_000 + 1);
    const e = await tlsSession(relay.ingress.ports.smtps);
    expect(await e.cmd(plain(relay.user.username, relay.user.password))).toMatch(/^235 /);
    for (const x of [c, d, e]) x.close();
  });

  it("failures outside the window do not add up", async () => {
    const relay = await startRelay(cleanups);
    const c = await tlsSession(relay.ingress.ports.smtps);
    for (let i = 0; i < 4; i++) expect(await c.cmd(plain("nobody", "x"))).toMatch(/^535 /);
    relay.node.clock.advance(15 * 60_000 + 1);
    for (let i = 0; i < 4; i++) expect(await c.cmd(plain("nobody", "x"))).toMatch(/^535 /);
    expect(await c.cmd(plain(relay.user.username, relay.user.password))).toMatch(/^235 /);
    c.close();
  });
});

describe("S4 simultaneous sessions", () => {
  it("refuses the 101st connection from one IP with 421 4.7.0 while the others keep working", async () => {
    const relay = await startRelay(cleanups);
    const port = relay.ingress.ports.submission;
    const open = await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(port)));
    const greetings = await Promise.all(open.map((c) => c.reply()));
    expect(greetings.every((g) => g.startsWith("220 "))).toBe(true);
    const extra = await RawClient.connect(port);
    expect(await extra.reply()).toBe("421 4.7.0 Too many simultaneous connections from your IP address");
    expect(await open[0]?.cmd("NOOP")).toMatch(/^250 /);
    open[1]?.close();
    await waitFor(() => relay.ingress.handlers.ipSlots.count("127.0.0.1") === 99, { what: "slot freed" });
    const again = await RawClient.connect(port);
    expect(await again.reply()).toMatch(/^220 /);
    for (const c of [...open, extra, again]) c.close();
  });

  it("refuses the 11th session of a user and the 21st of an account with 454 4.7.0; closing a session frees its slot", async () => {
    const relay = await startRelay(cleanups);
    const u2 = await relay.node.service.createSmtpUser(relay.accountId, { name: "second" });
    const u3 = await relay.node.service.createSmtpUser(relay.accountId, { name: "third" });
    const a = await Promise.all(Array.from({ length: 10 }, () => RawClient.authenticated(relay)));
    const c11 = await tlsSession(relay.ingress.ports.smtps);
    expect(await c11.cmd(plain(relay.user.username, relay.user.password))).toBe(
      "454 4.7.0 Too many simultaneous sessions for this SMTP user",
    );
    const b = await Promise.all(
      Array.from({ length: 10 }, () => RawClient.authenticated(relay, u2.username, u2.password)),
    );
    const c21 = await tlsSession(relay.ingress.ports.smtps);
    expect(await c21.cmd(plain(u3.username, u3.password))).toBe(
      "454 4.7.0 Too many simultaneous sessions for this account",
    );
    // the sessions already open keep working
    expect(await a[0]?.cmd("MAIL FROM:<app@shop.example>")).toBe("250 2.1.0 Accepted");
    // killing a session frees its slot: back in this node's block, which hands it to another user
    a[3]?.close();
    await waitFor(() => relay.accounts.sessions.inUse(relay.accountId, relay.user.username) === 9, {
      what: "slot released",
    });
    expect(await c21.cmd(plain(u3.username, u3.password))).toMatch(/^235 /);
    for (const c of [...a, ...b, c11, c21]) c.close();
  });

  it("a slot leased by a node that died lapses after the lease TTL", async () => {
    const relay = await startRelay(cleanups, { limits: { sessionsPerUser: 2, sessionLeaseMs: 60_000 } });
    for (const id of ["dead-node.1", "dead-node.2"]) {
      const g = await relay.node.ask<SessionGrant>(relay.accountId, {
        t: "acquireSession",
        leaseId: id,
        username: relay.user.username,
        ttlMs: 60_000,
        maxPerUser: 2,
        maxPerAccount: 20,
      });
      expect(g.granted).toBe(true);
    }
    const c = await tlsSession(relay.ingress.ports.smtps);
    expect(await c.cmd(plain(relay.user.username, relay.user.password))).toBe(
      "454 4.7.0 Too many simultaneous sessions for this SMTP user",
    );
    relay.node.clock.advance(60_001);
    expect(await c.cmd(plain(relay.user.username, relay.user.password))).toMatch(/^235 /);
    c.close();
  });
});
