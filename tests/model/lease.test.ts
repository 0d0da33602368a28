/** The one lease model (shared/model/lease.ts) against literal tables. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Acquired,
  acquire,
  counts,
  decide,
  expire,
  extend,
  isSlotCount,
  type Lease,
  type LeaseLimits,
  type LeaseTable,
  LocalLeases,
  leaseRecord,
  leaseTable,
  MAX_LEASE_SLOTS,
  NO_LEASES,
  release,
  resize,
} from "../../shared/model/lease.ts";

const table = (...leases: Lease[]): LeaseTable => new Map(leases.map((l) => [l.id, l]));
const L = (id: string, holder: string, expiresAt: number): Lease => ({ id, holder, expiresAt });
const summary = (r: Acquired) =>
  r.ok
    ? { ok: true, lease: r.lease, counts: r.counts }
    : { ok: false, refusedBy: r.refusedBy, counts: r.counts };

describe("acquire", () => {
  const two = table(L("a", "u1", 100), L("b", "u2", 100));
  it.each<[string, LeaseTable, string, string, LeaseLimits, ReturnType<typeof summary>]>([
    [
      "empty, no limits",
      NO_LEASES,
      "x",
      "u1",
      {},
      { ok: true, lease: L("x", "u1", 60), counts: { holder: 1, total: 1 } },
    ],
    [
      "below total",
      two,
      "x",
      "u3",
      { total: 3 },
      { ok: true, lease: L("x", "u3", 60), counts: { holder: 1, total: 3 } },
    ],
    [
      "at total",
      two,
      "x",
      "u3",
      { total: 2 },
      { ok: false, refusedBy: "total", counts: { holder: 0, total: 2 } },
    ],
    [
      "below per holder",
      two,
      "x",
      "u1",
      { perHolder: 2 },
      { ok: true, lease: L("x", "u1", 60), counts: { holder: 2, total: 3 } },
    ],
    [
      "at per holder",
      two,
      "x",
      "u1",
      { perHolder: 1 },
      { ok: false, refusedBy: "holder", counts: { holder: 1, total: 2 } },
    ],
    [
      "holder checked first",
      two,
      "x",
      "u1",
      { perHolder: 1, total: 2 },
      { ok: false, refusedBy: "holder", counts: { holder: 1, total: 2 } },
    ],
    [
      "a held id is extended, limits aside",
      two,
      "a",
      "u9",
      { total: 2 },
      { ok: true, lease: L("a", "u1", 60), counts: { holder: 1, total: 2 } },
    ],
  ])("%s", (_, t, id, holder, limits, out) => {
    expect(summary(acquire(t, { id, holder, ttlMs: 50 }, limits, 10))).toEqual(out);
  });

  it("up to the limit, then refuses; the table it was given is unchanged", () => {
    let t = NO_LEASES;
    const got: boolean[] = [];
    for (const id of ["1", "2", "3", "4"]) {
      const r = acquire(t, { id, holder: "h", ttlMs: 100 }, { total: 3 }, 0);
      got.push(r.ok);
      if (r.ok) t = r.table;
    }
    expect(got).toEqual([true, true, true, false]);
    expect([...t.keys()]).toEqual(["1", "2", "3"]);
    expect(acquire(t, { id: "4", holder: "h", ttlMs: 100 }, {}, 0).ok).toBe(true);
    expect(t.size).toBe(3);
  });
});

describe("extend, release, expire", () => {
  const t = table(L("a", "u1", 100), L("b", "u1", 50), L("c", "u2", 200));
  it.each([
    ["a", 70, { lease: L("a", "u1", 80), size: 3 }],
    ["b", 70, { lease: L("b", "u1", 80), size: 3 }],
    ["zz", 70, { lease: undefined, size: 3 }],
  ])("extend %s by %i at 10", (id, ttl, out) => {
    const r = extend(t, id, ttl, 10);
    expect({ lease: r.lease, size: r.table.size }).toEqual(out);
  });
  it.each([
    ["a", ["b", "c"]],
    ["zz", ["a", "b", "c"]],
  ])("release %s", (id, left) => {
    expect([...release(t, id).keys()]).toEqual(left);
  });
  it.each([
    [0, ["a", "b", "c"]],
    [50, ["a", "c"]],
    [100, ["c"]],
    [200, []],
  ])("expire at %i", (now, left) => {
    expect([...expire(t, now).keys()]).toEqual(left);
  });
  it("expiry frees a slot", () => {
    const full = { total: 3 };
    expect(acquire(t, { id: "d", holder: "u3", ttlMs: 10 }, full, 60).ok).toBe(false);
    expect(acquire(expire(t, 60), { id: "d", holder: "u3", ttlMs: 10 }, full, 60).ok).toBe(true);
  });
  it("an extended lease outlives its first expiry", () => {
    const r = extend(t, "b", 100, 40);
    expect([...expire(r.table, 60).keys()]).toEqual(["a", "b", "c"]);
  });
  it("round-trips through its persisted form", () => {
    const back = leaseTable(JSON.parse(JSON.stringify(leaseRecord(t))));
    expect([...back.entries()]).toEqual([...t.entries()]);
  });
});

describe("weighted leases", () => {
  const W = (id: string, holder: string, slots: number): Lease => ({ id, holder, expiresAt: 100, slots });
  const t = table(L("a", "u1", 100), W("b", "u1", 3), W("c", "u2", 4));

  it("counts weights; a lease without `slots` weighs 1", () => {
    expect(counts(t, "u1")).toEqual({ holder: 4, total: 8 });
    expect(counts(t, "u9")).toEqual({ holder: 0, total: 8 });
  });

  it.each<[number, LeaseLimits, ReturnType<typeof decide>["ok"]]>([
    [1, { perHolder: 5 }, true],
    [2, { perHolder: 5 }, false],
    [2, { total: 10 }, true],
    [3, { total: 10 }, false],
  ])("decide %i more for u1 under %j", (n, limits, ok) => {
    expect(decide(t, "u1", limits, n).ok).toBe(ok);
  });

  it("acquire takes a weight and records it only when not 1", () => {
    const r = acquire(t, { id: "d", holder: "u2", ttlMs: 50, slots: 2 }, { total: 10 }, 10);
    expect(r.ok && [r.lease, r.counts]).toEqual([
      { id: "d", holder: "u2", expiresAt: 60, slots: 2 },
      { holder: 6, total: 10 },
    ]);
    const one = acquire(t, { id: "e", holder: "u2", ttlMs: 50 }, {}, 10);
    expect(one.ok && one.lease).toEqual(L("e", "u2", 60));
  });

  // [what, id, holder, asked, limits] → [granted, refusedBy, holder count, total count]
  it.each<[string, string, string, number, LeaseLimits, [number, string | undefined, number, number]]>([
    ["grows within limits", "b", "u1", 5, { perHolder: 6, total: 10 }, [5, undefined, 6, 10]],
    ["grows as far as the holder limit", "b", "u1", 9, { perHolder: 6, total: 20 }, [5, "holder", 6, 10]],
    ["grows as far as the total", "b", "u1", 9, { perHolder: 9, total: 9 }, [4, "total", 5, 9]],
    ["the tighter limit names the refusal", "b", "u1", 9, { perHolder: 7, total: 9 }, [4, "total", 5, 9]],
    ["a new block", "x", "u3", 2, { total: 10 }, [2, undefined, 2, 10]],
    ["a new block gets none", "x", "u3", 3, { total: 8 }, [0, "total", 0, 8]],
    ["shrinks, limits aside", "c", "u2", 1, { total: 2 }, [1, undefined, 1, 5]],
    ["keeps what it holds over lowered limits", "c", "u2", 6, { perHolder: 2 }, [4, "holder", 4, 8]],
    ["0 releases", "c", "u2", 0, {}, [0, undefined, 0, 4]],
  ])("resize: %s", (_, id, holder, asked, limits, [slots, refusedBy, h, total]) => {
    const r = resize(t, { id, holder, ttlMs: 50, slots: asked }, limits, 10);
    expect([r.slots, r.refusedBy, r.counts.holder, r.counts.total]).toEqual([slots, refusedBy, h, total]);
    expect(counts(r.table, holder)).toEqual(r.counts);
    if (slots === 0) expect(r.table.has(id)).toBe(false);
    else expect(r.table.get(id)).toEqual({ id, holder, expiresAt: 60, ...(slots === 1 ? {} : { slots }) });
  });

  it("property: from empty, acquire, resize and release never take more than the limits", () => {
    // ids shared by holders on purpose: a resize may take over another holder's id
    const op = fc.record({
      kind: fc.constantFrom("acquire", "resize", "release"),
      id: fc.constantFrom("a", "b", "c", "d", "e"),
      holder: fc.constantFrom("u1", "u2", "u3"),
      slots: fc.nat(8),
    });
    fc.assert(
      fc.property(fc.nat(6), fc.nat(12), fc.array(op, { maxLength: 40 }), (perHolder, total, ops) => {
        const limits = { perHolder, total };
        let t: LeaseTable = NO_LEASES;
        for (const o of ops) {
          if (o.kind === "release") t = release(t, o.id);
          else if (o.kind === "resize") t = resize(t, { ...o, ttlMs: 10 }, limits, 0).table;
          else {
            const r = acquire(t, { ...o, ttlMs: 10, slots: Math.max(1, o.slots) }, limits, 0);
            if (r.ok) t = r.table;
          }
          for (const h of ["u1", "u2", "u3"]) expect(counts(t, h).holder).toBeLessThanOrEqual(perHolder);
          expect(counts(t, "u1").total).toBeLessThanOrEqual(total);
        }
      }),
    );
  });
});

describe("LocalLeases (in-memory holder, clock injected)", () => {
  it("limits per key, frees on release and on expiry, extends from now", () => {
    let now = 0;
    const l = new LocalLeases(100, () => now);
    expect(l.acquire("ip1", "s1", "ip1", { total: 2 })).toEqual(L("s1", "ip1", 100));
    expect(l.acquire("ip1", "s2", "ip1", { total: 2 })).toBeDefined();
    expect(l.acquire("ip1", "s3", "ip1", { total: 2 })).toBeUndefined();
    expect(l.acquire("ip2", "s3", "ip2", { total: 2 })).toBeDefined();
    l.release("ip1", "s1");
    expect(l.count("ip1")).toBe(1);
    now = 60;
    expect(l.extend("ip1", "s2")).toBe(true);
    now = 120;
    expect([l.count("ip1"), l.count("ip2")]).toEqual([1, 0]);
    now = 160;
    expect(l.extend("ip1", "s2")).toBe(false);
    expect(l.count("ip1")).toBe(0);
  });
});

describe("isSlotCount", () => {
  it.each<[unknown, boolean]>([
    [0, true],
    [7, true],
    [MAX_LEASE_SLOTS, true],
    [MAX_LEASE_SLOTS + 1, false],
    [-1, false],
    [1.5, false],
    ["3", false],
    [undefined, false],
  ])("%s → %s", (n, ok) => {
    expect(isSlotCount(n)).toBe(ok);
  });
});
