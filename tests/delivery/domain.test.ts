/**
 * The domain actor with the delivery workers against an smtp-server peer on loopback (real
 * sockets, real DNS from Knot, real bus and actor system on a ManualClock):
 * - D5: with a domain limit of N, the server never sees more than N simultaneous connections
 *   (counted on the server side), and connections are reused;
 * - the circuit opens for a domain whose MX hosts all refuse connections, and for one whose MX
 *   lookup fails for now;
 * - S14: sandbox recipients go through the same state machine without network delivery.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainView } from "../../actors/domain/protocol.ts";
import { domainKey } from "../../actors/keys.ts";
import { type DnsServer, requireDnsServer, startDnsServer, testZone } from "../dns/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { type DeliveryNode, sendingDomain, startDelivery } from "./harness.ts";

const available = requireDnsServer("delivery suites (tests/delivery/domain.test.ts)");
const LIMIT = 2;

describe.skipIf(!available)("domain actor + workers against an smtp-server peer", () => {
  let dns: DnsServer;
  let server: SMTPServer;
  let node: DeliveryNode;
  let dir: string;
  const seen = { open: 0, max: 0, total: 0, messages: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "petrel-domain-"));
    dns = await startDnsServer({
      zones: [
        testZone("conc.test", ["@ IN MX 10 mx", "mx IN A 127.0.0.1"]),
        // Every MX refuses: nothing listens on 127.0.0.2 / 127.0.0.3 at the peer's port.
        testZone("dead.test", [
          "@ IN MX 10 mx1",
          "@ IN MX 20 mx2",
          "mx1 IN A 127.0.0.2",
          "mx2 IN A 127.0.0.3",
        ]),
      ],
    });
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["AUTH"],
      logger: false,
      onConnect(_s, cb) {
        seen.open++;
        seen.total++;
        seen.max = Math.max(seen.max, seen.open);
        cb();
      },
      onClose() {
        seen.open--;
      },
      onData(stream, _s, cb) {
        stream.resume();
        stream.on("end", () =>
          setTimeout(() => {
            seen.messages++;
            cb();
          }, 100),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.server.address() as { port: number }).port;
    node = await startDelivery({
      dir,
      dnsServer: dns.address,
      smtpPort: port,
      domain: sendingDomain(),
      idleMs: 5_000,
      domainOptions: { concurrency: LIMIT, circuitThreshold: 2, circuitOpenMs: 10 * 60_000 },
    });
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The domain actor's view, once `ok` holds for it. */
  const viewOnce = (domain: string, ok: (v: DomainView) => boolean) =>
    waitFor(async () => {
      const v = (await node.system.ask(domainKey(domain), { t: "inspect" })) as DomainView;
      return ok(v) ? v : undefined;
    });

  it(`never holds more than ${LIMIT} connections to a domain, and reuses them (D2, D5)`, async () => {
    const records = [];
    for (let i = 0; i < 8; i++) records.push(await node.submit(`user${i}@conc.test`));
    // The actor hands out attempts ahead (prefetch, default 2 per connection): more in flight
    // than connections, while the server below still never sees more than the limit.
    await viewOnce("conc.test", (v) => v.inflight > LIMIT);
    for (const r of records) await node.waitStatus(r.recipientId, "Delivered");
    expect(seen.messages).toBe(8);
    expect(seen.max).toBeLessThanOrEqual(LIMIT);
    expect(seen.max).toBeGreaterThan(0);
    expect(seen.total).toBeLessThan(8); // reuse: fewer connections than messages
  });

  it("opens the circuit when every MX of a domain fails at the connection level", async () => {
    const a = await node.submit("x@dead.test");
    const b = await node.submit("y@dead.test");
    const da = await node.waitStatus(a.recipientId, "Deferred");
    await node.waitStatus(b.recipientId, "Deferred");
    expect(da.reason).toBe("connection_failed");
    expect(da.remoteReply).toContain("mx1.dead.test");
    expect(da.remoteReply).toContain("mx2.dead.test");
    const view = await viewOnce("dead.test", (v) => v.circuitOpen);
    expect(view.scheduled).toBe(2);
  });

  it("opens the circuit when a domain's MX lookup fails for now (SERVFAIL, REFUSED, timeout)", async () => {
    // Not in any zone of the test server: Knot answers REFUSED, a temporary failure.
    const a = await node.submit("x@unserved.test");
    const b = await node.submit("y@unserved.test");
    const da = await node.waitStatus(a.recipientId, "Deferred");
    await node.waitStatus(b.recipientId, "Deferred");
    expect(da.reason).toBe("dns_temporary");
    const view = await viewOnce("unserved.test", (v) => v.circuitOpen);
    expect(view.scheduled).toBe(2);
    // Behind the open circuit a third recipient is not tried: it waits in the ready queue.
    const c = await node.submit("z@unserved.test");
    const held = await viewOnce("unserved.test", (v) => v.ready === 1);
    expect(held.inflight).toBe(0);
    expect(node.eventsFor(c.recipientId).map((e) => e.status)).not.toContain("Deferred");
  });

  it("simulates sandbox recipients through the same state machine, without network (S14)", async () => {
    const before = seen.total;
    const d = await node.submit("delivered@sandbox.petrel.test", 0, { isTest: true });
    const f = await node.submit("deferred@sandbox.petrel.test", 0, { isTest: true });
    const h = await node.submit("hardbounce@sandbox.petrel.test", 0, { isTest: true });
    const l = await node.submit("delayedbounce@sandbox.petrel.test", 0, { isTest: true });
    expect((await node.waitStatus(d.recipientId, "Delivered")).isTest).toBe(true);
    await node.waitStatus(f.recipientId, "Deferred");
    await node.waitStatus(h.recipientId, "HardBounce");
    await node.waitStatus(l.recipientId, "HardBounce");
    expect(node.eventsFor(l.recipientId).map((e) => e.status)).toEqual([
      "Pending",
      "Delivered",
      "HardBounce",
    ]);
    node.clock.advance(5 * 60_000);
    await node.waitStatus(f.recipientId, "Delivered");
    expect(await node.suppression.has("acct1", "hardbounce@sandbox.petrel.test")).toBe(false);
    expect(seen.total).toBe(before);
  });
});
