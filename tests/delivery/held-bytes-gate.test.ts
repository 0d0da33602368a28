/**
 * The delivery workers' gate on message bytes held in memory (actors/delivery/held-bytes.ts), as a
 * property over random arrivals and finishes: the total never goes past the bound and a domain
 * never past its share, except for one attempt alone (in all, or for its domain); every attempt
 * gets its bytes once the others finish; and a domain at its share does not keep another
 * domain's attempt waiting.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HeldBytes } from "../../actors/delivery/held-bytes.ts";

const MAX = 1000;
/** Lets every grant made so far reach its `then` (a few turns of the microtask queue). */
const settle = async () => {
  for (let i = 0; i < 4; i++) await Promise.resolve();
};
const SHARE = 0.25;

describe("HeldBytes", () => {
  it("keeps both bounds and lets every attempt through in the end", async () => {
    const step = fc.oneof(
      fc.record({
        t: fc.constant("acquire" as const),
        domain: fc.constantFrom("a", "b", "c"),
        bytes: fc.integer({ min: 0, max: 600 }),
      }),
      fc.record({ t: fc.constant("release" as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const gate = new HeldBytes(MAX, SHARE);
        const held: { domain: string; bytes: number }[] = [];
        let asked = 0;
        let granted = 0;
        const check = () => {
          const total = held.reduce((n, h) => n + h.bytes, 0);
          expect(gate.stats.now).toBe(total);
          if (held.length > 1) expect(total).toBeLessThanOrEqual(MAX);
          for (const d of new Set(held.map((h) => h.domain))) {
            const mine = held.filter((h) => h.domain === d);
            if (mine.length > 1)
              expect(mine.reduce((n, h) => n + h.bytes, 0)).toBeLessThanOrEqual(MAX * SHARE);
          }
        };
        const ask = (domain: string, bytes: number) => {
          asked++;
          void gate.acquire(domain, bytes).then(() => {
            held.push({ domain, bytes });
            granted++;
          });
        };
        const finish = (i: number) => {
          const [h] = held.splice(i % held.length, 1);
          if (h) gate.release(h.domain, h.bytes);
        };
        for (const s of steps) {
          if (s.t === "acquire") ask(s.domain, s.bytes);
          else if (held.length > 0) finish(s.pick);
          await settle();
          check();
        }
        // Everything held finishes, one after the other: every attempt still waiting gets through.
        for (let i = 0; i < 10_000 && granted < asked; i++) {
          if (held.length > 0) finish(0);
          await settle();
          check();
        }
        expect(granted).toBe(asked);
        while (held.length > 0) finish(0);
        expect(gate.stats.now).toBe(0);
        expect(gate.waiters).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it("does not keep one domain's attempt waiting behind another domain at its share", async () => {
    const gate = new HeldBytes(MAX, SHARE);
    await gate.acquire("slow", 200);
    let slowSecond = false;
    void gate.acquire("slow", 200).then(() => {
      slowSecond = true;
    });
    await Promise.resolve();
    expect(slowSecond).toBe(false); // 400 > its share of 250
    await gate.acquire("fast", 200); // not behind slow's waiting attempt
    expect(gate.stats.now).toBe(400);
    gate.release("slow", 200);
    await Promise.resolve();
    expect(slowSecond).toBe(true);
  });

  it("keeps arrival order for the total: a big message is not passed by small ones for ever", async () => {
    const gate = new HeldBytes(MAX, 1);
    await gate.acquire("a", 900);
    const order: string[] = [];
    void gate.acquire("b", 500).then(() => order.push("big"));
    void gate.acquire("c", 50).then(() => order.push("small"));
    await Promise.resolve();
    expect(order).toEqual([]); // the small one would fit, but waits behind the big one
    gate.release("a", 900);
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual(["big", "small"]);
  });
});
