/** LogBus internals on real files: frame format, recovery, segment roll, retention, compaction, offsets. */
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import {
  checkFrame,
  decodeFrame,
  encodeFrame,
  MIN_FRAME,
  parseSegmentFileName,
} from "../../shared/bus/log/format.ts";
import { LogBus, type LogBusOptions } from "../../shared/bus/log/log-bus.ts";
import type { LogBusLogger } from "../../shared/bus/log/logger.ts";
import { OffsetStore, readCommittedOffsets } from "../../shared/bus/log/offsets.ts";
import { PartitionLog } from "../../shared/bus/log/partition-log.ts";
import { Segment } from "../../shared/bus/log/segment.ts";
import { TailCache } from "../../shared/bus/log/tail.ts";
import { partitionFor } from "../../shared/bus/partition.ts";
import type { BusRecord, TopicPartition } from "../../shared/bus/types.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const dirs: string[] = [];
const buses: LogBus[] = [];
const warnings: Record<string, unknown>[] = [];
const logger: LogBusLogger = { info() {}, warn: (f) => warnings.push(f), error: (f) => warnings.push(f) };

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "logbus-internals-"));
  dirs.push(d);
  return d;
}

async function openBus(dir: string, opts: Partial<LogBusOptions> = {}): Promise<LogBus> {
  const bus = await LogBus.open({ dir, logger, maintenanceIntervalMs: 0, ...opts });
  buses.push(bus);
  return bus;
}

async function replayAll(bus: LogBus, topic: string, partitions = [0]): Promise<BusRecord[]> {
  const out: BusRecord[] = [];
  await bus.replay(topic, partitions, (r) => out.push(r));
  return out;
}

const partDir = (dir: string, topic: string, p = 0) => join(dir, "topics", topic, String(p));
const segmentFiles = (dir: string, topic: string) =>
  readdirSync(partDir(dir, topic))
    .filter((n) => parseSegmentFileName(n) !== undefined)
    .sort();
const activePath = (dir: string, topic: string) => {
  const files = segmentFiles(dir, topic);
  return join(partDir(dir, topic), files[files.length - 1]!);
};
const value = (n: number, fill: number) => new Uint8Array(n).fill(fill);

afterEach(async () => {
  for (const b of buses.splice(0)) await b.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  warnings.length = 0;
});

describe("frame format", () => {
  it("round-trips offsets, timestamps, keys, headers and binary values", () => {
    const v = new Uint8Array(5000).map((_, i) => (i * 31) & 0xff);
    const frame = encodeFrame(
      2 ** 40 + 7,
      1_700_000_000_123,
      "ключ-🔑",
      { a: "1", "é-h": "ü", empty: "" },
      v,
    );
    const check = checkFrame(frame, 0, frame.length);
    expect(check).toEqual({ ok: true, size: frame.length, offset: 2 ** 40 + 7 });
    const r = decodeFrame(frame, 0);
    expect(r.offset).toBe(2 ** 40 + 7);
    expect(r.timestamp).toBe(1_700_000_000_123);
    expect(r.key).toBe("ключ-🔑");
    expect(r.headers).toEqual({ a: "1", "é-h": "ü", empty: "" });
    expect(Buffer.from(r.value).equals(Buffer.from(v))).toBe(true);
    const empty = encodeFrame(0, 0, "", undefined, new Uint8Array(0));
    expect(empty.length).toBe(MIN_FRAME);
    expect(decodeFrame(empty, 0).value.length).toBe(0);
  });

  it("detects a flipped byte, a short buffer and a bad length", () => {
    const frame = encodeFrame(3, 1, "k", {}, enc.encode("hello world"));
    for (let i = 4; i < frame.length; i++) {
      const bad = Buffer.from(frame);
      bad[i]! ^= 0x10;
      expect(checkFrame(bad, 0, bad.length).ok).toBe(false);
    }
    expect(checkFrame(frame, 0, frame.length - 1)).toMatchObject({ ok: false, reason: "short" });
    const huge = Buffer.from(frame);
    huge.writeUInt32LE(0xfffffff0, 0);
    expect(checkFrame(huge, 0, huge.length)).toMatchObject({ ok: false, reason: "length" });
  });
});

describe("recovery", () => {
  async function tenRecords(dir: string) {
    const bus = await openBus(dir);
    await bus.ensureTopics([{ name: "r", partitions: 1 }]);
    for (let i = 0; i < 10; i++) await bus.publish("r", [{ key: "k", value: enc.encode(`record-${i}`) }]);
    await bus.close();
  }

  async function reopenAndCheck(dir: string, survivors: number) {
    const bus = await openBus(dir);
    const got = await replayAll(bus, "r");
    expect(got.map((r) => dec.decode(r.value))).toEqual(
      Array.from({ length: survivors }, (_, i) => `record-${i}`),
    );
    const [next] = await bus.publish("r", [{ key: "k", value: enc.encode("after") }]);
    expect(next!.offset).toBe(survivors);
    await bus.close();
    const again = await openBus(dir);
    expect(again.recovery).toEqual([]);
    expect((await replayAll(again, "r")).map((r) => r.offset)).toEqual(
      Array.from({ length: survivors + 1 }, (_, i) => i),
    );
    return bus;
  }

  it("truncates garbage after the last record and appends after it", async () => {
    const dir = tempDir();
    await tenRecords(dir);
    const garbage = Buffer.alloc(100, 0xab);
    garbage.writeUInt32LE(60, 0); // a plausible length, then a wrong CRC
    appendFileSync(activePath(dir, "r"), garbage);
    const bus = await reopenAndCheck(dir, 10);
    expect(bus.recovery).toHaveLength(1);
    expect(bus.recovery[0]).toMatchObject({ droppedBytes: 100 });
    expect(warnings.some((w) => w.droppedBytes === 100)).toBe(true);
  });

  it("truncates a record cut in the middle", async () => {
    const dir = tempDir();
    await tenRecords(dir);
    const path = activePath(dir, "r");
    const size = statSync(path).size;
    const lastFrame = encodeFrame(9, 0, "k", {}, enc.encode("record-9")).length;
    truncateSync(path, size - 5);
    const bus = await reopenAndCheck(dir, 9);
    expect(bus.recovery[0]).toMatchObject({ droppedBytes: lastFrame - 5, reason: "truncated record" });
  });

  it("catches a flipped byte with the CRC and drops the tail from that record on", async () => {
    const dir = tempDir();
    await tenRecords(dir);
    const path = activePath(dir, "r");
    const bytes = readFileSync(path);
    const frame = encodeFrame(0, 0, "k", {}, enc.encode("record-0")).length; // all ten are this size
    bytes[frame * 6 + frame - 3]! ^= 0x01; // inside record 6's value
    writeFileSync(path, bytes);
    const bus = await reopenAndCheck(dir, 6);
    expect(bus.recovery[0]).toMatchObject({ droppedBytes: frame * 4, reason: "bad crc" });
  });
});

describe("segments", () => {
  it("rolls at segmentBytes, within a batch too, and reads across segments after reopen", async () => {
    const dir = tempDir();
    const segmentBytes = 4096;
    let bus = await openBus(dir, { segmentBytes });
    await bus.ensureTopics([{ name: "s", partitions: 1 }]);
    for (let i = 0; i < 10; i++) await bus.publish("s", [{ key: "k", value: value(1000, i) }]);
    await bus.publish(
      "s",
      Array.from({ length: 10 }, (_, i) => ({ key: "k", value: value(1000, 10 + i) })),
    );
    const files = segmentFiles(dir, "s");
    expect(files.length).toBe(7); // three ~1 KiB records per 4 KiB segment
    for (const f of files) {
      const bytes = readFileSync(join(partDir(dir, "s"), f));
      expect(bytes.length).toBeLessThanOrEqual(segmentBytes);
      expect(checkFrame(bytes, 0, bytes.length)).toMatchObject({ ok: true, offset: parseSegmentFileName(f) });
    }
    await bus.close();
    bus = await openBus(dir, { segmentBytes });
    const got = await replayAll(bus, "s");
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(got.every((r, i) => r.value.length === 1000 && r.value[0] === i)).toBe(true);
    expect((await bus.publish("s", [{ key: "k", value: value(10, 0) }]))[0]!.offset).toBe(20);
  });

  it("scans and reads records across read-chunk boundaries, including one larger than a chunk", async () => {
    const dir = tempDir();
    let bus = await openBus(dir);
    await bus.ensureTopics([{ name: "big", partitions: 1 }]);
    const sizes = Array.from({ length: 300 }, (_, i) => (i === 150 ? 700_000 : 1 + ((i * 7919) % 6000)));
    for (let i = 0; i < sizes.length; i += 25) {
      await bus.publish(
        "big",
        sizes.slice(i, i + 25).map((n, j) => ({ key: `k${i + j}`, value: value(n, (i + j) & 0xff) })),
      );
    }
    await bus.close();
    bus = await openBus(dir);
    expect(bus.recovery).toEqual([]);
    const got = await replayAll(bus, "big");
    expect(got.map((r) => r.value.length)).toEqual(sizes);
    expect(got.every((r, i) => r.value.every((b) => b === (i & 0xff)))).toBe(true);
    // A group that committed 149 resumes there: the read seeks through the sparse index.
    const first = await bus.subscribe({
      group: "mid",
      topics: ["big"],
      autoCommit: false,
      handler: async () => {},
    });
    await first.commit({ topic: "big", partition: 0 }, 149);
    await first.close();
    const fromMiddle: BusRecord[] = [];
    const second = await bus.subscribe({
      group: "mid",
      topics: ["big"],
      handler: async (r) => void fromMiddle.push(r),
    });
    await waitFor(() => fromMiddle.length >= 151, { what: "records 149.." });
    expect(fromMiddle.map((r) => r.offset)).toEqual(Array.from({ length: 151 }, (_, i) => 149 + i));
    expect(fromMiddle[1]!.value.length).toBe(700_000);
    await second.close();
  });

  it("coalesces concurrent appends into one fsync and resolves none before it", async () => {
    const dir = tempDir();
    const log = await PartitionLog.open({
      dir,
      topic: "g",
      partition: 0,
      segmentBytes: 1 << 20,
      fsync: true,
      clock: Date.now,
      logger,
    });
    const durableAtResolve: boolean[] = [];
    await Promise.all(
      Array.from({ length: 128 }, (_, i) =>
        log.append([{ key: `k${i}`, value: value(1024, i) }]).then(([offset]) => {
          durableAtResolve.push(log.durableNext > offset!);
        }),
      ),
    );
    expect(durableAtResolve).toHaveLength(128);
    expect(durableAtResolve.every(Boolean)).toBe(true);
    expect(log.stats).toMatchObject({ appends: 128, records: 128, batches: 1, fsyncs: 1 });
    const { records } = await log.read(100);
    expect(records[0]).toMatchObject({ offset: 100, key: "k100" });
    await log.close();
  });
});

describe("the tail of newest records (tail.ts)", () => {
  it("serves reads from memory as the segment file would, across a roll and past its bound", async () => {
    const dir = tempDir();
    const open = (tailBytes: number) =>
      PartitionLog.open({
        dir,
        topic: "t",
        partition: 0,
        segmentBytes: 4096,
        fsync: true,
        clock: () => 7,
        logger,
        tailBytes,
      });
    const log = await open(3000);
    const sizes = [10, 700, 5, 1500, 40, 900, 3, 2000, 64, 300, 1, 1200];
    for (const [i, n] of sizes.entries())
      await log.append([
        { key: `k${i}`, value: value(n, i), headers: i % 3 === 0 ? { h: `v${i}` } : undefined },
      ]);
    await log.append(sizes.map((n, i) => ({ key: `b${i}`, value: value(n, 100 + i) })));
    const readAll = async (l: PartitionLog, maxBytes: number) => {
      const out: BusRecord[][] = [];
      for (let from = 0; from < l.durableNext; ) {
        const { records, next } = await l.read(from, maxBytes);
        out.push(records);
        from = next;
      }
      return out;
    };
    // Every batch a reader gets, from each starting point and read size, equals what the file gives
    // after a reopen (an empty tail).
    const fromMemory = [await readAll(log, 1), await readAll(log, 2500), await readAll(log, 1 << 20)];
    const tails = await Promise.all([17, 20, 23].map((o) => log.read(o, 1000, 22)));
    // The newest records came from memory (the tail holds about 3000 bytes of the active segment).
    expect(log.stats.tailReads).toBeGreaterThan(0);
    await log.close();
    const reopened = await open(0);
    expect(fromMemory).toEqual([
      await readAll(reopened, 1),
      await readAll(reopened, 2500),
      await readAll(reopened, 1 << 20),
    ]);
    expect(tails).toEqual(await Promise.all([17, 20, 23].map((o) => reopened.read(o, 1000, 22))));
    expect(tails.map((t) => t.records.map((r) => r.offset))).toEqual([[17, 18], [20, 21], []]);
    expect(reopened.stats.tailReads).toBe(0);
    await reopened.close();
  });

  it("keeps only its byte bound of the newest frames, and only durable ones", () => {
    const tail = new TailCache(100);
    const frame = (offset: number, n: number) =>
      encodeFrame(offset, 1, `k${offset}`, undefined, value(n, offset));
    tail.add(0, [frame(0, 10), frame(1, 10), frame(2, 10)]);
    expect([0, 1, 2, 3].map((o) => tail.has(o))).toEqual([false, true, true, false]);
    tail.add(3, [frame(3, 200)]);
    expect([2, 3].map((o) => tail.has(o))).toEqual([false, true]); // one frame over the bound stays
    tail.add(9, [frame(9, 1)]); // a gap empties it first
    expect([3, 9].map((o) => tail.has(o))).toEqual([false, true]);
    expect(tail.read(9, 10, 1)[0]).toMatchObject({ offset: 9, key: "k9" });
  });
});

describe("frames larger than the read chunk (256 KiB)", () => {
  // A big actor snapshot: the walk used to refill once and call a frame that did not fit one chunk
  // "truncated record" — at byte 0 when it came first, or wherever its length prefix straddled a
  // chunk end — and compaction then failed with CorruptSegmentError on a sound segment.
  it("walks, scans and reads back every frame, whatever its size and place", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-bigframe-"));
    try {
      const sizes = [300 * 1024, 10, 256 * 1024 - 60, 700 * 1024, 5, 2 * 1024 * 1024, 17];
      const frames = sizes.map((n, i) =>
        encodeFrame(i, 1, `k${i}`, undefined, new Uint8Array(n).fill(i + 1)),
      );
      const path = join(dir, "00000000000000000000.log");
      writeFileSync(path, Buffer.concat(frames));
      const seg = new Segment(0, path, statSync(path).size);
      const scan = await seg.scan();
      expect(scan.error).toBeUndefined();
      expect(scan.records).toBe(sizes.length);
      expect(scan.validEnd).toBe(statSync(path).size);
      const seen: number[] = [];
      for await (const f of seg.frames()) seen.push(decodeFrame(f.buf, f.at).value.length);
      expect(seen).toEqual(sizes);
      // A truly cut frame is still reported, and the walk ends.
      truncateSync(path, statSync(path).size - 3);
      const cut = await new Segment(0, path, statSync(path).size).scan();
      expect(cut.records).toBe(sizes.length - 1);
      expect(cut.error).toBe("truncated record");
      await seg.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("retention", () => {
  it("deletes closed segments only once every committed group consumed them, never the active one", async () => {
    const dir = tempDir();
    const bus = await openBus(dir, { segmentBytes: 4096 });
    await bus.ensureTopics([{ name: "ret", partitions: 1 }]);
    for (let i = 0; i < 20; i++) await bus.publish("ret", [{ key: "k", value: value(1000, i) }]);
    const bases = () => segmentFiles(dir, "ret").map((f) => parseSegmentFileName(f));
    expect(bases()).toEqual([0, 3, 6, 9, 12, 15, 18]);
    await bus.runRetention();
    expect(bases()).toEqual([0, 3, 6, 9, 12, 15, 18]); // nobody committed: keep everything

    const member = (group: string) =>
      bus.subscribe({
        group,
        topics: ["ret"],
        fromBeginning: true,
        autoCommit: false,
        handler: async () => {},
      });
    const tp = { topic: "ret", partition: 0 };
    const g2 = await member("g2");
    await g2.commit(tp, 4);
    await bus.runRetention();
    expect(bases()).toEqual([3, 6, 9, 12, 15, 18]);
    const g1 = await member("g1");
    await g1.commit(tp, 7);
    await bus.runRetention();
    expect(bases()).toEqual([3, 6, 9, 12, 15, 18]); // g2 still at 4
    await g2.commit(tp, 20);
    await bus.runRetention();
    expect(bases()).toEqual([6, 9, 12, 15, 18]);
    await g1.commit(tp, 20);
    await bus.runRetention();
    expect(bases()).toEqual([18]);
    expect((await replayAll(bus, "ret")).map((r) => r.offset)).toEqual([18, 19]);
    const fresh: BusRecord[] = [];
    const g3 = await bus.subscribe({
      group: "g3",
      topics: ["ret"],
      fromBeginning: true,
      handler: async (r) => void fresh.push(r),
    });
    await waitFor(() => fresh.length >= 2, { what: "records of the retained segment" });
    expect(fresh.map((r) => r.offset)).toEqual([18, 19]);
    await g3.close();
  });
});

describe("compaction", () => {
  it("keeps the newest record per key, drops tombstones of closed segments, preserves offsets", async () => {
    const dir = tempDir();
    let bus = await openBus(dir, { segmentBytes: 512 });
    await bus.ensureTopics([{ name: "cl", partitions: 1, compacted: true }]);
    const offsetOf = new Map<string, number>();
    const put = async (key: string, v: string) => {
      const [r] = await bus.publish("cl", [{ key, value: enc.encode(v.padEnd(v ? 100 : 0, ".")) }]);
      offsetOf.set(`${key}=${v}`, r!.offset);
    };
    for (const [k, v] of [
      ["a", "a0"],
      ["b", "b0"],
      ["c", "c0"],
      ["a", "a1"],
      ["b", "b1"],
      ["a", "a2"],
      ["b", ""],
      ["c", "c1"],
    ]) {
      await put(k!, v!);
    }
    for (let i = 0; i < 8; i++) await put("d", `d${i}`);
    await put("e", "e0");
    await put("e", ""); // a tombstone in the active segment stays until its segment is closed
    const before = await replayAll(bus, "cl");
    expect(before).toHaveLength(18);
    const filesBefore = segmentFiles(dir, "cl").length;
    expect(filesBefore).toBeGreaterThan(3);

    // Precondition of the scenario: e's two records are the active segment, all else is closed.
    expect(parseSegmentFileName(segmentFiles(dir, "cl").at(-1)!)).toBe(offsetOf.get("e=e0"));

    const result = await bus.compact("cl");
    expect(result.recordsAfter).toBeLessThan(result.recordsBefore);
    const after = await replayAll(bus, "cl");
    const summary = (rs: BusRecord[]) =>
      rs.map((r) => `${r.key}=${dec.decode(r.value).replace(/\.+$/, "")}@${r.offset}`);
    // Newest of a, c, d at their original offsets; b (tombstoned in a closed segment) is gone;
    // the active segment is untouched, so e's value and tombstone are both still there.
    expect(summary(after)).toEqual(
      ["a=a2", "c=c1", "d=d7", "e=e0", "e="].map((kv) => `${kv}@${offsetOf.get(kv)}`),
    );
    const offsets = after.map((r) => r.offset);
    expect(segmentFiles(dir, "cl").length).toBeLessThan(filesBefore); // emptied segments are deleted

    // A group reads the sparse offsets the same way; a reopen keeps the result and the next offset.
    const seen: BusRecord[] = [];
    const sub = await bus.subscribe({
      group: "cg",
      topics: ["cl"],
      fromBeginning: true,
      handler: async (r) => void seen.push(r),
    });
    await waitFor(() => seen.length >= after.length, { what: "compacted records" });
    expect(seen.map((r) => r.offset)).toEqual(offsets);
    await sub.close();
    await bus.close();
    bus = await openBus(dir, { segmentBytes: 512 });
    expect(summary(await replayAll(bus, "cl"))).toEqual(summary(after));
    expect((await bus.publish("cl", [{ key: "z", value: enc.encode("z") }]))[0]!.offset).toBe(18);
  });
});

describe("committed offsets", () => {
  it("survive a reopen and the group resumes after them", async () => {
    const dir = tempDir();
    let bus = await openBus(dir);
    await bus.ensureTopics([{ name: "o", partitions: 2 }]);
    await bus.publish(
      "o",
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: enc.encode(`${i}`) })),
    );
    const first: BusRecord[] = [];
    const sub = await bus.subscribe({
      group: "og",
      topics: ["o"],
      fromBeginning: true,
      handler: async (r) => void first.push(r),
    });
    await waitFor(() => first.length >= 10, { what: "10 records" });
    await sub.close();
    await bus.close();

    const store = await OffsetStore.open(dir, true);
    const committed = [0, 1].map((p) => store.get("og", "o", p) ?? 0);
    expect(committed[0]! + committed[1]!).toBe(10);

    bus = await openBus(dir);
    await bus.publish("o", [{ key: "k0", value: enc.encode("late") }]);
    const second: BusRecord[] = [];
    const again = await bus.subscribe({
      group: "og",
      topics: ["o"],
      fromBeginning: true,
      handler: async (r) => void second.push(r),
    });
    await waitFor(() => second.length >= 1, { what: "the late record" });
    expect(second.map((r) => dec.decode(r.value))).toEqual(["late"]);
    await again.close();
  });

  it("journal commits, cut a torn append off, and fold into a snapshot that a replayed journal does not change", async () => {
    const dir = tempDir();
    let store = await OffsetStore.open(dir, true, { journalMax: 400 });
    // Commits one at a time (each its own journal line) and two at once (coalesced).
    for (let i = 1; i <= 5; i++) await store.commit("g", [{ topic: "t", partition: i % 2, offset: i }]);
    await Promise.all([
      store.commit("g", [{ topic: "t", partition: 0, offset: 10 }]),
      store.commit("h", [{ topic: "u", partition: 3, offset: 7 }]),
    ]);
    await store.close();
    expect(existsSync(join(dir, "offsets.json"))).toBe(false);
    const journal = readFileSync(join(dir, "offsets.log"));
    expect(journal.toString().trim().split("\n").length).toBeGreaterThanOrEqual(6);
    expect(readCommittedOffsets(dir)).toEqual({ g: { t: { 0: 10, 1: 5 } }, h: { u: { 3: 7 } } });

    // A torn append (a crash inside a write): half a line, and a line whose checksum fails.
    const good = journal.length;
    writeFileSync(
      join(dir, "offsets.log"),
      Buffer.concat([journal, Buffer.from('0000beef [["g","t",0,99]]\n[["g"')]),
    );
    store = await OffsetStore.open(dir, true, { journalMax: 400 });
    expect(store.get("g", "t", 0)).toBe(10);
    expect(statSync(join(dir, "offsets.log")).size).toBe(good);
    await store.commit("g", [{ topic: "t", partition: 0, offset: 11 }]);
    expect(readCommittedOffsets(dir).g?.t?.[0]).toBe(11);

    // Past journalMax the next write is a snapshot and the journal is cut to nothing.
    for (let i = 12; i < 40; i++) await store.commit("g", [{ topic: "t", partition: 1, offset: i }]);
    await store.close();
    expect(existsSync(join(dir, "offsets.json"))).toBe(true);
    expect(statSync(join(dir, "offsets.log")).size).toBeLessThan(400);
    const expected = { g: { t: { 0: 11, 1: 39 } }, h: { u: { 3: 7 } } };
    expect(readCommittedOffsets(dir)).toEqual(expected);

    // A crash between the snapshot's rename and the journal's cut: the journal then ends with the
    // changes the snapshot was written for, so replaying it over the snapshot gives the same state.
    const line = (changes: unknown) => {
      const json = Buffer.from(JSON.stringify(changes));
      return Buffer.concat([
        Buffer.from(`${crc32(json).toString(16).padStart(8, "0")} `),
        json,
        Buffer.from("\n"),
      ]);
    };
    writeFileSync(
      join(dir, "offsets.log"),
      Buffer.concat([line([["g", "t", 1, 3]]), line([["g", "t", 1, 38]]), line([["g", "t", 1, 39]])]),
    );
    store = await OffsetStore.open(dir, true);
    expect(readCommittedOffsets(dir)).toEqual(expected);
    expect(store.get("g", "t", 1)).toBe(39);
    await store.close();
  });

  it("refuses a second open of the same directory", async () => {
    const dir = tempDir();
    await openBus(dir);
    await expect(LogBus.open({ dir, logger })).rejects.toThrow(/already open/);
  });
});

describe("consumer groups", () => {
  const keyFor = (partition: number, n = 2) => {
    for (let i = 0; ; i++) if (partitionFor(`key${i}`, n) === partition) return `key${i}`;
  };
  const tps = (list: TopicPartition[]) => list.map((tp) => tp.partition).sort();

  it("runs one handler at a time per partition and partitions in parallel", async () => {
    const bus = await openBus(tempDir());
    await bus.ensureTopics([{ name: "par", partitions: 2 }]);
    const inFlight = [0, 0];
    const started = [false, false];
    let maxPerPartition = 0;
    let handled = 0;
    const sub = await bus.subscribe({
      group: "par",
      topics: ["par"],
      fromBeginning: true,
      handler: async (r) => {
        inFlight[r.partition]!++;
        started[r.partition] = true;
        maxPerPartition = Math.max(maxPerPartition, inFlight[r.partition]!);
        // Every record waits until both partitions have started: only possible if they run in parallel.
        await waitFor(() => started[0] && started[1], { what: "both partitions started" });
        await sleep(1);
        inFlight[r.partition]!--;
        handled++;
      },
    });
    await bus.publish(
      "par",
      [0, 1].flatMap((p) => Array.from({ length: 5 }, () => ({ key: keyFor(p), value: value(8, p) }))),
    );
    await waitFor(() => handled === 10, { what: "10 handled" });
    expect(maxPerPartition).toBe(1);
    await sub.close();
  });

  it("on rebalance waits for the in-flight handler, commits, revokes, then assigns", async () => {
    const bus = await openBus(tempDir());
    await bus.ensureTopics([{ name: "rb", partitions: 2 }]);
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const a = await bus.subscribe({
      group: "rb",
      topics: ["rb"],
      fromBeginning: true,
      handler: async (r) => {
        events.push(`A handles p${r.partition}@${r.offset}`);
        if (r.partition === 1) await gate;
        events.push(`A done p${r.partition}@${r.offset}`);
      },
      onRevoke: (list) => void events.push(`A revoked ${tps(list)}`),
    });
    expect(tps(a.assignment())).toEqual([0, 1]);
    await bus.publish("rb", [{ key: keyFor(1), value: value(8, 1) }]);
    await waitFor(() => events.includes("A handles p1@0"), { what: "A busy on p1" });

    let bJoined = false;
    const got: BusRecord[] = [];
    const joining = bus
      .subscribe({
        group: "rb",
        topics: ["rb"],
        fromBeginning: true,
        handler: async (r) => void got.push(r),
        onAssign: (list) => void events.push(`B assigned ${tps(list)}`),
      })
      .then((s) => {
        bJoined = true;
        return s;
      });
    await sleep(100);
    expect(bJoined).toBe(false); // the hand-over waits for A's handler
    expect(events.some((e) => e.startsWith("A revoked"))).toBe(false);
    release();
    const b = await joining;
    expect(events.slice(-3)).toEqual(["A done p1@0", "A revoked 1", "B assigned 1"]);
    expect(tps(a.assignment())).toEqual([0]);
    expect(tps(b.assignment())).toEqual([1]);
    // A committed p1@0 before handing it over: B starts after it.
    await bus.publish("rb", [{ key: keyFor(1), value: value(8, 2) }]);
    await waitFor(() => got.length >= 1, { what: "B reads p1" });
    expect(got.map((r) => r.offset)).toEqual([1]);
    await b.close();
    await a.close();
  });
});
