/**
 * S8: concurrent reservations against one account, through the real ActorSystem on the LogBus,
 * never exceed the quota; when oversubscribed, the grants add up to the quota exactly.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { QuotaGrant } from "../../shared/model/account/protocol.ts";
import { plan, startNode, tempDir } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/** Deterministic sizes 1–5 (a small LCG), so a failure replays the same asks. */
function sizes(count: number, seed = 42): number[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (x % 5);
  });
}

describe.each([true, false])("1,000 concurrent reserveQuota asks (localAsk=%s)", (localAsk) => {
  it("grant exactly the quota when oversubscribed, never more", async () => {
    const n = await startNode(tempDir(cleanups), { localAsk });
    cleanups.push(() => n.stop());
    await n.ask("busy", { t: "create", name: "Busy", plan: plan("starter"), timezone: "Europe/Paris" });
    const asked = sizes(1_000);
    const total = asked.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(1_000);

    const grants = await Promise.all(
      asked.map((k) => n.ask<QuotaGrant>("busy", { t: "reserveQuota", n: k })),
    );

    expect(grants.reduce((a, g) => a + g.granted, 0)).toBe(1_000);
    grants.forEach((g, i) => {
      expect(g.granted).toBeLessThanOrEqual(asked[i] as number);
      expect(g.used).toBeLessThanOrEqual(1_000);
      if (g.granted < (asked[i] as number)) expect(g.reason).toBe("quota_reached");
    });
    // Serialised by the mailbox: ordered by `used`, each grant adds exactly its size.
    const ordered = [...grants].filter((g) => g.granted > 0).sort((a, b) => a.used - b.used);
    let used = 0;
    for (const g of ordered) {
      used += g.granted;
      expect(g.used).toBe(used);
    }
    const q = await n.service.quota("busy");
    expect(q).toMatchObject({ used: 1_000, limit: 1_000, percent: 100, band: "red" });
  });

  it("grant everything asked when the quota suffices", async () => {
    const n = await startNode(tempDir(cleanups), { localAsk });
    cleanups.push(() => n.stop());
    await n.ask("roomy", { t: "create", name: "Roomy", plan: plan("pro"), timezone: "UTC" });
    const grants = await Promise.all(Array.from({ length: 1_000 }, () => n.service.reserveQuota("roomy", 2)));
    expect(grants.every((g) => g.granted === 2 && g.reason === undefined)).toBe(true);
    expect((await n.service.quota("roomy")).used).toBe(2_000);
  });
});
