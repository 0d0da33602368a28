/**
 * S8 as credit (issue 16): nodes reserve recipients from blocks of quota the account actor grants
 * them, on the real ActorSystem and LogBus. Two nodes reserving concurrently never overshoot the
 * quota; once they hand their credit back the counter is exactly what they kept; a node that dies
 * holding credit leaves it counted (never given back twice); a reservation from credit asks nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { creditSize } from "../../actors/account/quota.ts";
import { type AccountPort, actorAccountPort } from "../../ingress/account-port.ts";
import { type Node, plan, startNode, tempDir } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const LIMITS = { sessionLeaseMs: 60_000, sessionsPerUser: 10, sessionsPerAccount: 20 };

function port(n: Node, nodeId: string, block: number, counter?: { asks: number }): AccountPort {
  const system = counter
    ? new Proxy(n.system, {
        get(target, prop, recv) {
          if (prop === "ask")
            return (...args: Parameters<typeof target.ask>) => {
              counter.asks++;
              return target.ask(...args);
            };
          return Reflect.get(target, prop, recv);
        },
      })
    : n.system;
  const p = actorAccountPort(system, {
    ...LIMITS,
    nodeId,
    quotaCreditBlock: block,
    now: () => n.clock.now(),
  });
  cleanups.push(() => p.close());
  return p;
}

/** Deterministic sizes 1–5 (a small LCG). */
function sizes(count: number, seed = 7): number[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (x % 5);
  });
}

describe("quota as credit (S8, issue 16)", () => {
  it("creditSize: a block while four are left, else exactly what is needed", () => {
    const table: [quota: number, used: number, need: number, block: number, size: number][] = [
      [1_000, 0, 1, 100, 100],
      [1_000, 600, 1, 100, 100],
      [1_000, 601, 1, 100, 1],
      [1_000, 990, 5, 100, 5],
      [100, 0, 1, 100, 1], // a small quota is reserved one by one, as before
      [10_000, 0, 250, 100, 250],
      [10_000, 0, 3, 0, 3], // credit off
    ];
    for (const [quota, used, need, block, size] of table)
      expect(creditSize({ quota, used }, need, block)).toBe(size);
  });

  it("two nodes reserving concurrently never overshoot; handed back, the counter is what they kept", async () => {
    const n = await startNode(tempDir(cleanups));
    cleanups.push(() => n.stop());
    await n.ask("busy", { t: "create", name: "Busy", plan: plan("starter"), timezone: "UTC" });
    const nodes = [port(n, "A", 10), port(n, "B", 10)];
    const asked = sizes(600);
    const grants = await Promise.all(asked.map((k, i) => (nodes[i % 2] as AccountPort).reserve("busy", k)));
    const kept = grants.reduce((a, g) => a + g.granted, 0);
    expect(kept).toBeLessThanOrEqual(1_000);
    grants.forEach((g, i) => {
      expect(g.granted).toBeLessThanOrEqual(asked[i] as number);
      if (g.granted < (asked[i] as number)) expect(g.reason).toBe("quota_reached");
    });
    // what the counter holds beyond `kept` is unused credit: handed back, the counter is exact
    expect((await n.service.quota("busy")).used).toBeGreaterThanOrEqual(kept);
    await Promise.all(nodes.map((p) => p.flush()));
    expect((await n.service.quota("busy")).used).toBe(kept);
    // the rest of the quota, and not one more, for whoever asks next
    let more = 0;
    for (let i = 0; i < 1_100 && kept + more < 1_000; i++)
      more += (await (nodes[i % 2] as AccountPort).reserve("busy", 1)).granted;
    expect(kept + more).toBe(1_000);
    expect((await (nodes[0] as AccountPort).reserve("busy", 1)).reason).toBe("quota_reached");
    await Promise.all(nodes.map((p) => p.flush()));
    expect((await n.service.quota("busy")).used).toBe(1_000);
  });

  it("a reservation from credit asks nothing; a release goes back to the credit", async () => {
    const n = await startNode(tempDir(cleanups));
    cleanups.push(() => n.stop());
    await n.ask("roomy", { t: "create", name: "Roomy", plan: plan("pro"), timezone: "UTC" });
    const counter = { asks: 0 };
    const p = port(n, "A", 100, counter);
    const first = await p.reserve("roomy", 1);
    expect(counter.asks).toBe(1);
    for (let i = 0; i < 99; i++) expect((await p.reserve("roomy", 1)).granted).toBe(1);
    expect(counter.asks).toBe(1); // 100 recipients, one grant
    await p.release("roomy", 10, first.periodStart);
    for (let i = 0; i < 10; i++) await p.reserve("roomy", 1);
    expect(counter.asks).toBe(1);
    await p.reserve("roomy", 1); // the block is used up: the next grant
    expect(counter.asks).toBe(2);
    await p.flush();
    expect((await n.service.quota("roomy")).used).toBe(101);
  });

  it("credit of a node that dies without handing it back stays counted, once", async () => {
    const n = await startNode(tempDir(cleanups));
    cleanups.push(() => n.stop());
    await n.ask("acc", { t: "create", name: "Acc", plan: plan("pro"), timezone: "UTC" });
    const dead = actorAccountPort(n.system, { ...LIMITS, nodeId: "dead", quotaCreditBlock: 100 });
    await dead.reserve("acc", 1); // holds 99 unused, never flushed
    expect((await n.service.quota("acc")).used).toBe(100);
    // a settle for a credit the actor does not know (or no longer knows) gives nothing back
    await n.ask("acc", { t: "settleCredit", leaseId: "nobody", unused: 50 });
    n.clock.advance(61_000); // past the lease
    await n.ask("acc", { t: "settleCredit", leaseId: "nobody", unused: 0 }); // prunes the expired credit
    await dead.flush(); // too late: the credit expired, nothing comes back
    expect((await n.service.quota("acc")).used).toBe(100);
  });
});
