/**
 * The embedded log's write-ahead file (shared/bus/log/wal.ts): segments are written without waiting
 * for the disk and one O_DSYNC write of the write-ahead file per round makes every partition's batch
 * durable. A power loss can then take segment bytes the disk never got; these tests take them (the
 * directory of a live log is copied, as the disk would hold it, and its active segments cut back) and
 * check that reopening restores every acknowledged record byte for byte, that a torn write at the
 * file's end is ignored, that checkpoints bound the files, that a gap is refused, and that one write
 * serves several partitions. SIGKILL is covered by log-crash.test.ts.
 */
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LogBus, type LogBusOptions } from "../../shared/bus/log/log-bus.ts";
import type { LogBusLogger } from "../../shared/bus/log/logger.ts";
import { readCommittedOffsets } from "../../shared/bus/log/offsets.ts";
import type { BusRecord } from "../../shared/bus/types.ts";

const warnings: Record<string, unknown>[] = [];
const logger: LogBusLogger = { info() {}, warn: (f) => warnings.push(f), error: (f) => warnings.push(f) };
const dirs: string[] = [];
const open: LogBus[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "petrel-wal-"));
  dirs.push(d);
  return d;
}

async function openBus(dir: string, opts: Partial<LogBusOptions> = {}): Promise<LogBus> {
  const bus = await LogBus.open({ dir, logger, maintenanceIntervalMs: 0, ...opts });
  open.push(bus);
  return bus;
}

afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  warnings.length = 0;
});

const TOPICS = [
  { name: "inbox", partitions: 3 },
  { name: "state", partitions: 2, compacted: true },
];

/** Publishes `n` records per topic from concurrent publishers; returns them as acknowledged. */
async function publishMany(bus: LogBus, n: number, tag = ""): Promise<Map<string, BusRecord>> {
  const acked = new Map<string, BusRecord>();
  await Promise.all(
    TOPICS.flatMap((t) =>
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = w; i < n; i += 4) {
          const id = `${t.name}-${tag}${i}`;
          const value = Buffer.from(`${id}|${"x".repeat(i % 300)}`);
          const [r] = await bus.publish(t.name, [{ key: `k${i % 7}`, value, headers: { id } }]);
          acked.set(id, { ...r!, key: `k${i % 7}`, value, headers: { id }, timestamp: 0 });
        }
      }),
    ),
  );
  return acked;
}

async function readAll(bus: LogBus): Promise<Map<string, BusRecord>> {
  const out = new Map<string, BusRecord>();
  for (const t of TOPICS) {
    const parts = Array.from({ length: t.partitions }, (_, p) => p);
    await bus.replay(t.name, parts, (r) => out.set(r.headers.id!, r));
  }
  return out;
}

function expectAll(found: Map<string, BusRecord>, acked: Map<string, BusRecord>): void {
  expect(found.size).toBeGreaterThanOrEqual(acked.size);
  for (const [id, a] of acked) {
    const f = found.get(id);
    expect(f, id).toBeDefined();
    expect([f!.topic, f!.partition, f!.offset, f!.key]).toEqual([a.topic, a.partition, a.offset, a.key]);
    expect(Buffer.from(f!.value).equals(Buffer.from(a.value)), id).toBe(true);
  }
}

/** The active (newest) segment of every partition under a copied log directory. */
function activeSegments(dir: string): string[] {
  const out: string[] = [];
  for (const t of TOPICS)
    for (let p = 0; p < t.partitions; p++) {
      const pdir = join(dir, "topics", t.name, String(p));
      const segs = readdirSync(pdir)
        .filter((f) => f.endsWith(".log"))
        .sort();
      out.push(join(pdir, segs[segs.length - 1]!));
    }
  return out;
}

const walFiles = (dir: string) => readdirSync(join(dir, "wal")).filter((f) => f.endsWith(".wal"));

/** What the disk holds of a live log after a power loss: its files as written, segments cut to `keep`. */
function powerLossCopy(from: string, keep: (size: number, i: number) => number): string {
  const to = tempDir();
  cpSync(from, to, { recursive: true });
  for (const [i, seg] of activeSegments(to).entries()) truncateSync(seg, keep(statSync(seg).size, i));
  return to;
}

describe("the embedded log's write-ahead file", () => {
  it("restores, byte for byte, every acknowledged record whose segment bytes a power loss took", async () => {
    const live = tempDir();
    const bus = await openBus(live);
    await bus.ensureTopics(TOPICS);
    const acked = await publishMany(bus, 200);
    const before = await readAll(bus);
    // Committed offsets go through the same file (the journal is written without waiting too).
    const sub = await bus.subscribe({
      group: "g",
      topics: ["inbox"],
      autoCommit: false,
      handler: async () => {},
    });
    for (let p = 0; p < 3; p++) await sub.commit({ topic: "inbox", partition: p }, 7 + p);
    // Every active segment cut: to nothing, to half (mid-frame), or kept whole; the journal to nothing.
    const copy = powerLossCopy(live, (size, i) => [0, Math.floor(size / 2), size][i % 3]!);
    truncateSync(join(copy, "offsets.log"), 0);
    const after = await openBus(copy);
    const found = await readAll(after);
    expectAll(found, acked);
    for (const [id, r] of before) expect(found.get(id)!.timestamp, id).toBe(r.timestamp);
    const restored = after.recovery.filter((n) => /restored \d+ records/.test(n.reason));
    expect(restored.length).toBeGreaterThanOrEqual(3);
    // Publishing goes on after the restored records; a clean close leaves no write-ahead file.
    const more = await after.publish("inbox", [
      { key: "k0", value: Buffer.from("after"), headers: { id: "after" } },
    ]);
    expect(more[0]!.offset).toBe(
      Math.max(
        ...[...found.values()]
          .filter((r) => r.topic === "inbox" && r.partition === more[0]!.partition)
          .map((r) => r.offset),
      ) + 1,
    );
    await after.close();
    expect(walFiles(copy)).toEqual([]);
    expect(readCommittedOffsets(copy).g?.inbox).toEqual({ 0: 7, 1: 8, 2: 9 });
  });

  it("ignores a torn write at the end of the file: the acknowledged records before it are restored", async () => {
    const live = tempDir();
    const bus = await openBus(live);
    await bus.ensureTopics(TOPICS);
    const acked = await publishMany(bus, 60);
    const copy = powerLossCopy(live, () => 0);
    const [wal] = walFiles(copy);
    // Half an entry: a plausible length and CRC field, then the write stopped.
    appendFileSync(join(copy, "wal", wal!), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 0, 105]));
    const after = await openBus(copy);
    expectAll(await readAll(after), acked);
    expect(warnings.some((w) => typeof w.reason === "string" && /short entry|crc/.test(w.reason))).toBe(true);
  });

  it("checkpoints: past its size the file is replaced and the old one deleted once the segments are synced", async () => {
    const live = tempDir();
    const bus = await openBus(live, { walBytes: 16 * 1024 });
    await bus.ensureTopics(TOPICS);
    const acked = await publishMany(bus, 300);
    const stats = bus.writeAheadStats!;
    expect(stats.checkpoints).toBeGreaterThan(5);
    expect(walFiles(live).length).toBeLessThanOrEqual(2);
    await bus.close();
    open.splice(open.indexOf(bus), 1);
    expect(walFiles(live)).toEqual([]);
    const again = await openBus(live);
    expect(again.recovery).toEqual([]);
    expectAll(await readAll(again), acked);
  });

  it("refuses to open when a partition lost records that the write-ahead file no longer holds", async () => {
    const live = tempDir();
    const bus = await openBus(live, { walBytes: 16 * 1024 });
    await bus.ensureTopics(TOPICS);
    await publishMany(bus, 300);
    // Synced records gone (a damaged disk): the remaining file starts past the partition's end.
    const copy = powerLossCopy(live, () => 0);
    await expect(openBus(copy)).rejects.toThrow(
      /its log ends at offset 0 but the write-ahead file .* continues at [1-9]/,
    );
  });

  it("one write of the file serves every partition that flushed in the same turn", async () => {
    const live = tempDir();
    const bus = await openBus(live);
    await bus.ensureTopics([{ name: "wide", partitions: 8 }]);
    const before = { ...bus.writeAheadStats! };
    await Promise.all(
      Array.from({ length: 8 }, (_, p) =>
        bus.publish("wide", [{ key: `k${p}`, value: Buffer.from(`v${p}`), partition: p }]),
      ),
    );
    const stats = bus.writeAheadStats!;
    expect(stats.entries - before.entries).toBe(8);
    expect(stats.writes - before.writes).toBe(1);
  });

  it("is not used without fsync (throwaway data): no file, nothing to restore", async () => {
    const live = tempDir();
    const bus = await openBus(live, { fsync: false });
    await bus.ensureTopics(TOPICS);
    await publishMany(bus, 20);
    expect(bus.writeAheadStats).toBeUndefined();
    expect(() => walFiles(live)).toThrow(/ENOENT/);
  });
});
