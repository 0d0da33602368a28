/**
 * Issue 17: the free-space floor's guard on a ManualClock, with the free bytes of each volume
 * given by the test (the real statfs is exercised by low-space.test.ts on a tmpfs).
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../actors/clock.ts";
import { storageVerdict } from "../../ingress/policy.ts";
import { DiskGuard } from "../../shared/disk-guard.ts";
import { createMetrics, diskGauges } from "../../shared/metrics.ts";

const MiB = 1024 * 1024;

function guarded(free: Record<string, number>) {
  const clock = new ManualClock();
  const guard = new DiskGuard({
    volumes: [
      { name: "data", path: "/d" },
      { name: "content", path: "/d/content" },
    ],
    floorBytes: 100 * MiB,
    intervalMs: 1_000,
    clock,
    freeBytes: async (path) => free[path] ?? 0,
  });
  return { clock, guard };
}

/** Lets the guard's measure (promises) finish after the clock fired it. */
const settle = () => new Promise((r) => setImmediate(r));

describe("DiskGuard", () => {
  it("is ok above the floor on every volume and not below it on any", async () => {
    const free = { "/d": 500 * MiB, "/d/content": 100 * MiB };
    const { guard } = guarded(free);
    await guard.start();
    expect(guard.ok).toBe(true);
    expect(storageVerdict(guard)).toBeNull();

    free["/d/content"] = 100 * MiB - 1;
    await guard.check();
    expect(guard.ok).toBe(false);
    expect(guard.status()).toEqual([
      { volume: "data", path: "/d", freeBytes: 500 * MiB, floorBytes: 100 * MiB, ok: true },
      { volume: "content", path: "/d/content", freeBytes: 100 * MiB - 1, floorBytes: 100 * MiB, ok: false },
    ]);
    expect(storageVerdict(guard)?.error.reply).toBe("452 4.3.1 Insufficient system storage");
    expect(storageVerdict(guard)?.reason).toBe("insufficient_storage");
    guard.close();
  });

  it("measures again every interval on its clock: accepting stops and resumes on its own", async () => {
    const free = { "/d": 500 * MiB, "/d/content": 500 * MiB };
    const { clock, guard } = guarded(free);
    await guard.start();
    free["/d"] = 10 * MiB;
    clock.advance(999);
    await settle();
    expect(guard.ok).toBe(true); // not measured yet
    clock.advance(1);
    await settle();
    expect(guard.ok).toBe(false);
    free["/d"] = 300 * MiB;
    clock.advance(1_000);
    await settle();
    expect(guard.ok).toBe(true);
    guard.close();
    expect(clock.pending()).toBe(0);
  });

  it("shows each volume in petrel_disk_free_bytes, _floor_bytes and _below_floor", async () => {
    const free = { "/d": 50 * MiB, "/d/content": 500 * MiB };
    const { guard } = guarded(free);
    await guard.start();
    const registry = createMetrics();
    diskGauges(registry, guard);
    const text = await registry.metrics();
    expect(text).toContain(`petrel_disk_free_bytes{volume="data"} ${50 * MiB}`);
    expect(text).toContain(`petrel_disk_floor_bytes{volume="content"} ${100 * MiB}`);
    expect(text).toContain('petrel_disk_below_floor{volume="data"} 1');
    expect(text).toContain('petrel_disk_below_floor{volume="content"} 0');
    guard.close();
  });
});
