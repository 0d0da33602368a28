/**
 * Opening a partition directory after a clean shutdown or a crash.
 *  - Leftovers of interrupted atomic rewrites (`*.tmp`, `*.compacting`) are removed: the rename
 *    that commits them never happened, the original is intact.
 *  - Closed segments are trusted (they were fsynced before the next segment was created, and
 *    compaction replaces them atomically) and validated cheaply, by size only; their index is
 *    built, with full checks, on first read.
 *  - The active segment is scanned frame by frame (length bounds, full presence, CRC, layout,
 *    increasing offsets); everything from the first bad frame on is a torn or corrupt tail and
 *    is truncated, with a warning saying how many bytes went. If the active segment is empty the
 *    one before it is scanned the same way (a crash right after a roll).
 */
import { mkdir, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { MIN_FRAME, parseSegmentFileName, segmentFileName } from "./format.ts";
import { DSYNC_OPEN, fsyncDir, writeFlags } from "./fsutil.ts";
import type { LogBusLogger } from "./logger.ts";
import { CorruptSegmentError, Segment } from "./segment.ts";

export interface RecoveryNote {
  topic: string;
  partition: number;
  segment: string;
  droppedBytes: number;
  reason: string;
}

export interface RecoveryTarget {
  dir: string;
  topic: string;
  partition: number;
  fsync: boolean;
  logger: LogBusLogger;
  /** Appends are made durable by the log's write-ahead file (wal.ts), not by the segment itself. */
  wal?: unknown;
}

/** Returns the partition's segments in offset order; the last (active) one is open read-write. */
export async function recoverSegments(t: RecoveryTarget, notes: RecoveryNote[]): Promise<Segment[]> {
  const { dir, logger } = t;
  await mkdir(dir, { recursive: true });
  const bases: number[] = [];
  for (const name of await readdir(dir)) {
    const base = parseSegmentFileName(name);
    if (base !== undefined) bases.push(base);
    else if (name.endsWith(".tmp") || name.endsWith(".compacting")) await unlink(join(dir, name));
  }
  bases.sort((a, b) => a - b);
  if (bases.length === 0) {
    const fh = await open(join(dir, segmentFileName(0)), "wx+");
    await fh.close();
    if (t.fsync) await fsyncDir(dir);
    bases.push(0);
  }
  const segments: Segment[] = [];
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    const path = join(dir, segmentFileName(base));
    const { size } = await stat(path);
    if (i === bases.length - 1) {
      // The active segment: appended to, O_DSYNC when the log fsyncs without a write-ahead file
      // (partition-log.ts).
      segments.push(
        new Segment(
          base,
          path,
          size,
          await open(path, writeFlags({ create: false, dsync: t.fsync && DSYNC_OPEN && !t.wal })),
        ),
      );
    } else if (size === 0) {
      // Nothing in it to lose (a closed segment is never empty; compaction deletes emptied ones).
      logger.warn({ topic: t.topic, partition: t.partition, segment: path }, "removing empty closed segment");
      await unlink(path);
    } else if (size < MIN_FRAME) {
      throw new CorruptSegmentError(`closed segment ${path} is ${size} bytes, smaller than one record`);
    } else {
      segments.push(new Segment(base, path, size));
    }
  }
  const active = segments[segments.length - 1]!;
  await truncateTail(t, active, notes);
  const prev = segments[segments.length - 2];
  if (active.size === 0 && prev) await truncateTail(t, prev, notes);
  return segments;
}

/** Scans a segment and cuts off a torn or corrupt tail (everything from the first bad frame). */
async function truncateTail(t: RecoveryTarget, seg: Segment, notes: RecoveryNote[]): Promise<void> {
  const result = await seg.scan();
  if (result.validEnd === seg.size) return;
  const droppedBytes = seg.size - result.validEnd;
  const fh = await open(seg.path, "r+");
  try {
    await fh.truncate(result.validEnd);
    await fh.sync();
  } finally {
    await fh.close();
  }
  seg.size = result.validEnd;
  const note: RecoveryNote = {
    topic: t.topic,
    partition: t.partition,
    segment: seg.path,
    droppedBytes,
    reason: result.error ?? "unknown",
  };
  notes.push(note);
  t.logger.warn({ ...note }, "log recovery truncated a torn or corrupt segment tail");
}
