/**
 * The recent-content cache of the S3 store (shared/content/recent.ts), as a pure unit with an
 * injected clock: bounded by bytes (oldest out first) and by age, one entry at most an eighth of
 * the bound and at least its floor, a delete drops an entry. Fails if the cache grows past its bound or serves old bytes.
 */
import { describe, expect, it } from "vitest";
import { RecentContent } from "../../shared/content/recent.ts";

const bytes = (n: number, fill = 0x61) => Buffer.alloc(n, fill);

describe("RecentContent", () => {
  it("keeps what fits, dropping the oldest first", () => {
    const c = new RecentContent(800);
    for (let i = 0; i < 10; i++) c.add(`r${i}`, bytes(100, i));
    expect(c.bytes).toBe(800);
    expect(c.get("r0")).toBeUndefined();
    expect(c.get("r1")).toBeUndefined();
    expect(c.get("r2")?.[0]).toBe(2);
    expect(c.get("r9")?.[0]).toBe(9);
  });

  it("does not keep a message over an eighth of the bound", () => {
    const c = new RecentContent(800);
    c.add("small", bytes(100));
    c.add("big", bytes(101));
    expect(c.get("big")).toBeUndefined();
    expect(c.get("small")).toBeDefined();
    expect(c.bytes).toBe(100);
  });

  it("does not keep a message under its floor, when it has one", () => {
    const c = new RecentContent(800, { minBytes: 50 });
    c.add("small", bytes(49));
    c.add("enough", bytes(50));
    expect(c.get("small")).toBeUndefined();
    expect(c.get("enough")).toBeDefined();
    expect(c.bytes).toBe(50);
  });

  it("forgets entries past their age", () => {
    let now = 0;
    const c = new RecentContent(1000, { maxAgeMs: 60_000, now: () => now });
    c.add("old", bytes(10));
    now = 30_000;
    c.add("young", bytes(10));
    now = 60_001;
    expect(c.get("old")).toBeUndefined();
    expect(c.get("young")).toBeDefined();
    expect(c.bytes).toBe(10);
  });

  it("a delete drops the entry and its bytes; adding a ref again replaces it", () => {
    const c = new RecentContent(1000);
    c.add("a", bytes(50));
    c.add("a", bytes(60, 0x62));
    expect(c.bytes).toBe(60);
    expect(c.get("a")?.[0]).toBe(0x62);
    c.delete("a");
    c.delete("never");
    expect(c.get("a")).toBeUndefined();
    expect(c.bytes).toBe(0);
  });
});
