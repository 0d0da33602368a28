/** The one lease model (shared/model/lease.ts) against literal tables. */
import { describe, expect, it } from "vitest";
import {
  type Acquired,
  acquire,
  expire,
  extend,
  type Lease,
  type LeaseLimits,
  type LeaseTable,
  LocalLeases,
  leaseRecord,
  leaseTable,
  NO_LEASES,
  release,
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
