/**
 * Compaction of a changelog partition: every closed segment is rewritten keeping only the
 * records that are the newest of their key in the whole partition, and dropping tombstones
 * (empty values) altogether, since the segments they sit in are older than the active one.
 * Frames are copied byte for byte, so offsets (now sparse) and checksums are preserved.
 * Each rewrite is atomic: `<segment>.compacting` is written and fsynced, then renamed over the
 * segment and the directory fsynced; a segment left with no record is deleted.
 */
import { open, rename, unlink } from "node:fs/promises";
import { frameKey, frameValueLength } from "./format.ts";
import { fsyncDir } from "./fsutil.ts";
import type { PartitionLog } from "./partition-log.ts";
import { Segment } from "./segment.ts";

export interface CompactionResult {
  segments: number;
  recordsBefore: number;
  recordsAfter: number;
}

const WRITE_BATCH = 1 << 20;

export function compactPartition(log: PartitionLog): Promise<CompactionResult> {
  return log.exclusive(async () => {
    const result: CompactionResult = { segments: 0, recordsBefore: 0, recordsAfter: 0 };
    const segs = log.segments;
    const closed = segs.slice(0, -1);
    if (closed.length === 0 || log.isClosed) return result;
    log.rolledSinceCompaction = 0;
    for (const s of segs) s.acquire();
    try {
      // Newest offset of every key, over all segments up to the durable end of the active one.
      const newest = new Map<string, number>();
      for (const seg of segs) {
        for await (const f of seg.frames(seg.size)) newest.set(frameKey(f.buf, f.at), f.offset);
      }
      for (const seg of closed) {
        const r = await rewrite(log, seg, newest);
        result.recordsBefore += r.before;
        result.recordsAfter += r.after;
        if (r.after !== r.before) result.segments++;
      }
    } finally {
      for (const s of segs) s.release();
    }
    if (result.segments > 0) {
      log.options.logger.info(
        { topic: log.topic, partition: log.partition, ...result },
        "compacted segments",
      );
    }
    return result;
  });
}

async function rewrite(
  log: PartitionLog,
  seg: Segment,
  newest: Map<string, number>,
): Promise<{ before: number; after: number }> {
  const tmp = `${seg.path}.compacting`;
  const { fsync } = log.options;
  let before = 0;
  let after = 0;
  let size = 0;
  const out = await open(tmp, "w");
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      await out.write(Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    };
    for await (const f of seg.frames()) {
      before++;
      const keep = newest.get(frameKey(f.buf, f.at)) === f.offset && frameValueLength(f.buf, f.at) > 0;
      if (!keep) continue;
      after++;
      // Copy: the walk reuses its buffer.
      pending.push(Buffer.from(f.buf.subarray(f.at, f.at + f.size)));
      pendingBytes += f.size;
      size += f.size;
      if (pendingBytes >= WRITE_BATCH) await flush();
    }
    await flush();
    if (fsync && after !== before) await out.sync();
  } finally {
    await out.close();
  }
  if (after === before) {
    await unlink(tmp);
    return { before, after };
  }
  await seg.file(); // readers of the old segment keep the old file
  if (after === 0) {
    await unlink(tmp);
    await unlink(seg.path);
    log.replaceSegment(seg, undefined);
  } else {
    await rename(tmp, seg.path);
    log.replaceSegment(seg, new Segment(seg.baseOffset, seg.path, size));
  }
  if (fsync) await fsyncDir(log.dir);
  return { before, after };
}
