/**
 * The delivery workers' bound on message bytes held in memory (PETREL_DELIVERY_MAX_HELD_BYTES, a
 * quarter of it per recipient domain; actors/delivery/held-bytes.ts): each attempt reads its
 * message whole, and a prefetched one keeps it while it waits for a connection, so without a bound
 * a node's attempts in flight (600 by default) could hold 600 large messages. Real smtp-server
 * peer on loopback, real DNS (Knot), real bus and actors:
 * with a domain's share at 2.5 messages, the workers never hold more than two of its messages and
 * the peer never receives more than two at a time, every message delivered all the same; with the
 * default bound the same load holds more (so the first case proves something). The rules between
 * domains (a domain at its share does not hold up another; arrival order for the total) are
 * proven on the gate itself: tests/delivery/held-bytes-gate.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DnsServer, requireDnsServer, startDnsServer, testZone } from "../dns/server.ts";
import { sendingDomain, startDelivery } from "./harness.ts";

const available = requireDnsServer("delivery suites (tests/delivery/held-bytes.test.ts)");
const BODY_BYTES = 64 * 1024;
const MESSAGES = 6;

describe.skipIf(!available)("delivery workers: message bytes held in flight", () => {
  let dns: DnsServer;
  let server: SMTPServer;
  let port: number;
  const dirs: string[] = [];
  const peer = { receiving: 0, max: 0, messages: 0 };

  beforeAll(async () => {
    dns = await startDnsServer({ zones: [testZone("big.test", ["@ IN MX 10 mx", "mx IN A 127.0.0.1"])] });
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["AUTH"],
      logger: false,
      onData(stream, _s, cb) {
        peer.receiving++;
        peer.max = Math.max(peer.max, peer.receiving);
        stream.resume();
        stream.on("end", () =>
          setTimeout(() => {
            peer.receiving--;
            peer.messages++;
            cb();
          }, 200),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    port = (server.server.address() as { port: number }).port;
  }, 60_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await dns?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Delivers MESSAGES messages of BODY_BYTES to big.test; the workers' held bytes and one message's size. */
  async function deliver(maxHeldBytes?: number) {
    const dir = mkdtempSync(join(tmpdir(), "petrel-held-"));
    dirs.push(dir);
    Object.assign(peer, { receiving: 0, max: 0, messages: 0 });
    const node = await startDelivery({
      dir,
      dnsServer: dns.address,
      smtpPort: port,
      domain: sendingDomain(),
      bodyBytes: BODY_BYTES,
      idleMs: 5_000,
      domainOptions: { concurrency: 4 },
      ...(maxHeldBytes ? { maxHeldBytes } : {}),
    });
    try {
      const records = [];
      for (let i = 0; i < MESSAGES; i++) records.push(await node.submit(`user${i}@big.test`));
      for (const r of records) await node.waitStatus(r.recipientId, "Delivered");
      return { size: (records[0] as { size: number }).size, held: { ...node.heldBytes }, peer: { ...peer } };
    } finally {
      await node.stop();
    }
  }

  it("never holds more of a domain's message bytes than its share, and delivers every message", async () => {
    // A domain's share (a quarter) is 2.5 messages with their headers: room for two, not three.
    const bound = 10 * (BODY_BYTES + 512);
    const r = await deliver(bound);
    expect(r.size).toBeGreaterThan(BODY_BYTES);
    expect(3 * r.size).toBeGreaterThan(bound / 4);
    expect(r.held.peak).toBeLessThanOrEqual(bound / 4);
    expect(r.held.peak).toBeGreaterThanOrEqual(2 * r.size - 64);
    expect(r.held.now).toBe(0);
    expect(r.peer.messages).toBeGreaterThanOrEqual(MESSAGES);
    expect(r.peer.max).toBeLessThanOrEqual(2);
  }, 60_000);

  it("holds more than that under the default bound (the load above needs the bound)", async () => {
    const r = await deliver();
    expect(r.held.peak).toBeGreaterThan(2.5 * r.size);
    expect(r.peer.max).toBeGreaterThan(2);
    expect(r.held.now).toBe(0);
  }, 60_000);
});
