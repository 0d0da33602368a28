/**
 * One partition of a topic: a directory of segment files, the last one active (appended to).
 *
 * Appends use group commit: `append()` assigns offsets and encodes frames synchronously, then
 * queues them. A single flush loop per partition takes everything queued, writes it with one
 * positional write, calls fdatasync once, and only then resolves every append of the batch and
 * advances the durable end that readers stop at. Appends made while an fsync is running form the
 * next batch, so N concurrent publishers cost about one fsync per round, not N.
 *
 * With a write-ahead file (wal.ts, the default when the log fsyncs under Node) the batch goes to the
 * segment without waiting for the disk and is made durable by the write-ahead file, whose one write
 * per round serves every partition that flushed in it; a segment is fdatasync'ed when it closes and
 * at the write-ahead file's checkpoints.
 */
import { type FileHandle, open, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { BusRecord, OutRecord } from "../types.ts";
import { encodeFrame, segmentFileName } from "./format.ts";
import { DSYNC_OPEN, fsyncDir, writeAll, writeAllSync, writeFlags } from "./fsutil.ts";
import { GroupCommit } from "./group-commit.ts";
import type { LogBusLogger } from "./logger.ts";
import { Notifier } from "./notifier.ts";
import { type RecoveryNote, recoverSegments } from "./recovery.ts";
import { Segment } from "./segment.ts";
import { TailCache } from "./tail.ts";
import type { WalPartition, WriteAheadLog } from "./wal.ts";

export type { RecoveryNote };

export interface PartitionLogOptions {
  dir: string;
  topic: string;
  partition: number;
  segmentBytes: number;
  fsync: boolean;
  clock: () => number;
  logger: LogBusLogger;
  /** Bytes of the newest durable records kept in memory for readers (tail.ts); 0 = none. */
  tailBytes?: number;
  /** Makes appends durable (with `fsync`): segment writes then wait for no disk. */
  wal?: WriteAheadLog;
}

/** Buffers in one writev at most (IOV_MAX is 1,024 on Linux). */
const MAX_IOV = 1024;

/** Default bound of a partition's tail: a few hundred of the bus's usual (≤ 1 KiB) records. */
const TAIL_BYTES = 256 * 1024;

interface Pending {
  frames: Buffer[];
  offsets: number[];
  resolve(offsets: number[]): void;
  reject(error: unknown): void;
}

export class PartitionLog implements WalPartition {
  /** Ordered by base offset; the last one is active. Replaced, never mutated (readers hold copies). */
  segments: Segment[] = [];
  /** Next offset to assign. */
  nextOffset = 0;
  /** Every offset below this is durable and readable. */
  durableNext = 0;
  /** Segments closed since the last compaction. */
  rolledSinceCompaction = 0;
  private writeHandle!: FileHandle;
  /** The active segment is open O_DSYNC: a write is durable when it returns, no fdatasync after. */
  private get dsync(): boolean {
    return this.options.fsync && DSYNC_OPEN && !this.options.wal;
  }
  /** Durability comes from the write-ahead file. */
  private get wal(): WriteAheadLog | undefined {
    return this.options.fsync ? this.options.wal : undefined;
  }
  /** close() made every segment write durable (or the log does not fsync). */
  private synced = false;
  private writePos = 0;
  private writtenNext = 0;
  private unsyncedIndex: [number, number][] = [];
  /** The frames of `unsyncedIndex`, for the tail once they are durable. */
  private unsyncedFrames: Buffer[] = [];
  /** The newest durable records, read by consumers that keep up (tail.ts). */
  private readonly tail: TailCache;
  private readonly commits = new GroupCommit<Pending>({
    write: (batch) => {
      this.stats.batches++;
      return this.writeBatch(batch);
    },
    written: (batch) => {
      for (const p of batch) p.resolve(p.offsets);
    },
    failed: (e, batch) => this.rollBack(e, batch),
  });
  private failed: Error | undefined;
  private closed = false;
  private readonly notifier = new Notifier();
  private mutex: Promise<unknown> = Promise.resolve();

  /** Counters for tests and metrics: `fsyncs` well below `appends` is group commit at work. */
  readonly stats = { appends: 0, records: 0, batches: 0, fsyncs: 0, tailReads: 0 };
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;

  private constructor(readonly options: PartitionLogOptions) {
    this.tail = new TailCache(options.tailBytes ?? TAIL_BYTES);
    this.topic = options.topic;
    this.partition = options.partition;
    this.dir = options.dir;
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Opens (creating if needed) the partition directory and recovers its active segment. */
  static async open(options: PartitionLogOptions, notes: RecoveryNote[] = []): Promise<PartitionLog> {
    const log = new PartitionLog(options);
    log.segments = await recoverSegments(options, notes);
    const active = log.active;
    log.writeHandle = await active.file();
    log.writePos = active.size;
    log.nextOffset = Math.max(active.baseOffset, (active.lastOffset ?? -1) + 1);
    log.writtenNext = log.nextOffset;
    log.durableNext = log.nextOffset;
    return log;
  }

  /** Appends records in order; resolves with their offsets once they are durable. */
  append(records: OutRecord[]): Promise<number[]> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error(`partition ${this.topic}/${this.partition} is closed`));
    if (records.length === 0) return Promise.resolve([]);
    const timestamp = this.options.clock();
    const base = this.nextOffset;
    const frames = records.map((r, i) => encodeFrame(base + i, timestamp, r.key, r.headers, r.value));
    const offsets = records.map((_, i) => base + i);
    return this.enqueue(frames, offsets);
  }

  /**
   * Appends frames recovered from the write-ahead file, byte for byte (their offsets and timestamps
   * kept); they must continue the partition exactly.
   */
  restore(frames: Buffer[], offsets: number[]): Promise<number[]> {
    if (this.failed) return Promise.reject(this.failed);
    if (offsets.some((o, i) => o !== this.nextOffset + i))
      throw new Error(
        `partition ${this.topic}/${this.partition}: write-ahead records from offset ${offsets[0]} do not continue its end ${this.nextOffset}`,
      );
    return this.enqueue(frames, offsets);
  }

  private enqueue(frames: Buffer[], offsets: number[]): Promise<number[]> {
    this.nextOffset += frames.length;
    this.stats.appends++;
    this.stats.records += frames.length;
    return new Promise((resolve, reject) => this.commits.push({ frames, offsets, resolve, reject }));
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const { segmentBytes } = this.options;
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    let chunkNext = this.writtenNext;
    for (const p of batch) {
      for (let i = 0; i < p.frames.length; i++) {
        const frame = p.frames[i]!;
        const offset = p.offsets[i]!;
        const used = this.writePos + chunkBytes;
        if (used > 0 && used + frame.length > segmentBytes) {
          await this.writeChunk(chunk, chunkNext);
          chunk = [];
          chunkBytes = 0;
          await this.roll(offset);
        }
        this.unsyncedIndex.push([offset, this.writePos + chunkBytes]);
        this.unsyncedFrames.push(frame);
        chunk.push(frame);
        chunkBytes += frame.length;
        chunkNext = offset + 1;
      }
    }
    await this.writeChunk(chunk, chunkNext);
    await this.syncAndPublish();
  }

  /**
   * The frames in one positional writev on the segment's descriptor (node:fs callbacks, as
   * durable-fs.ts does: FileHandle#write cost the event loop ~12 µs more per write, measured in a
   * loop of O_DSYNC writes, and this is the log's one write per batch). More frames than a writev
   * takes are joined first.
   */
  private async writeChunk(chunk: Buffer[], next: number): Promise<void> {
    if (chunk.length === 0) return;
    const bufs = chunk.length > MAX_IOV ? [Buffer.concat(chunk)] : chunk;
    const bytes = bufs.reduce((n, b) => n + b.length, 0);
    const wal = this.wal;
    if (wal) {
      // To the page cache, on this thread: no hand-off to wait for; the write-ahead file's one
      // write of the round makes it durable.
      writeAllSync(this.writeHandle.fd, bufs, this.writePos);
      await wal.append(this, chunk);
    } else {
      await writeAll(this.writeHandle.fd, bufs, this.writePos);
    }
    this.writePos += bytes;
    this.writtenNext = next;
  }

  /** fdatasyncs the active file, then makes what was written visible to readers and wakes them. */
  private async syncAndPublish(): Promise<void> {
    if (this.options.fsync && this.writePos > this.active.size) {
      // O_DSYNC descriptors (durable-fs.ts DSYNC_OPEN): each write was durable when it returned.
      if (!this.dsync && !this.wal) await this.writeHandle.datasync();
      this.stats.fsyncs++;
    }
    const seg = this.active;
    for (const [offset, position] of this.unsyncedIndex) seg.noteAppended(offset, position);
    const first = this.unsyncedIndex[0];
    if (first) this.tail.add(first[0], this.unsyncedFrames);
    this.unsyncedIndex = [];
    this.unsyncedFrames = [];
    seg.size = this.writePos;
    this.durableNext = this.writtenNext;
    this.notifier.wake();
  }

  /** Closes the active segment (after making it durable) and starts a new one at `baseOffset`. */
  private async roll(baseOffset: number): Promise<void> {
    await this.syncAndPublish();
    // Closed segments are trusted by recovery and by the write-ahead file's checkpoints.
    if (this.wal) await this.writeHandle.datasync();
    const path = join(this.options.dir, segmentFileName(baseOffset));
    const fh = await open(path, writeFlags({ create: true, dsync: this.dsync }));
    try {
      if (this.options.fsync) await fsyncDir(this.options.dir);
    } catch (e) {
      // not in the segment list yet: leave no file behind that a retried roll would collide with
      await fh.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw e;
    }
    this.segments = [...this.segments, new Segment(baseOffset, path, 0, fh)];
    // The tail holds records of the active segment only: closed ones may be compacted or deleted
    // (retention), and a reader must then find what the files hold.
    this.tail.clear();
    this.writeHandle = fh;
    this.writePos = 0;
    this.rolledSinceCompaction++;
  }

  /**
   * A failed write or fsync (ENOSPC, EIO): the batch and every append queued behind it are
   * refused, the active file is cut back to its durable end (no torn frame stays on disk to be
   * found by a reader or by recovery) and made durable, and offsets continue from there. Appends
   * made meanwhile are refused with the same error. If the cut itself fails the partition stays
   * failed until the log is reopened (recovery then drops the torn tail). Returns whether it may go on.
   */
  private async rollBack(error: unknown, batch: Pending[]): Promise<boolean> {
    const refused = [...batch, ...this.commits.takeQueued()];
    const cause = new Error(`partition ${this.topic}/${this.partition}: write failed, batch refused`, {
      cause: error,
    });
    // Appends made meanwhile are refused at once; the batch itself is refused once the segment is
    // back at its durable end, so that whoever is told of the failure can publish again.
    this.failed = cause;
    const seg = this.active;
    try {
      await this.writeHandle.truncate(seg.size);
      if (this.options.fsync) await this.writeHandle.datasync();
    } catch (e) {
      this.fail(error, refused);
      this.options.logger.error(
        { topic: this.topic, partition: this.partition, err: String(e) },
        "log could not cut a failed write back",
      );
      return false;
    }
    this.options.logger.warn(
      { topic: this.topic, partition: this.partition, err: String(error), durableEnd: seg.size },
      "log write failed: batch refused, segment cut back to its durable end",
    );
    this.writePos = seg.size;
    this.unsyncedIndex = [];
    this.unsyncedFrames = [];
    this.writtenNext = this.durableNext;
    this.nextOffset = this.durableNext;
    this.failed = undefined;
    for (const p of refused) p.reject(cause);
    return true;
  }

  private fail(error: unknown, batch: Pending[]): void {
    this.failed = new Error(
      `partition ${this.topic}/${this.partition} failed writing; reopen the log to recover`,
      { cause: error },
    );
    this.options.logger.error(
      { topic: this.topic, partition: this.partition, err: String(error) },
      "log write failed",
    );
    for (const p of [...batch, ...this.commits.takeQueued()]) p.reject(this.failed);
  }

  /**
   * The write-ahead file's checkpoint: fdatasyncs what was written to the active segment. A segment
   * closed (rolled) meanwhile was synced then; a closed partition synced on close.
   */
  async syncWritten(): Promise<void> {
    const fh = this.writeHandle;
    try {
      await fh.datasync();
    } catch (e) {
      if (fh !== this.writeHandle || this.closed) return;
      throw e;
    }
  }

  /** close() synced every segment write (what the write-ahead file held is no longer needed). */
  get closedSynced(): boolean {
    return this.synced;
  }

  /** Resolves once an offset >= `offset` is durable, or on abort or close. No polling. */
  waitFor(offset: number, signal?: AbortSignal): Promise<void> {
    return this.notifier.wait(() => this.durableNext > offset || this.closed, signal);
  }

  /** The oldest offset still stored (records may be sparse after it). */
  startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /**
   * Reads durable records with `from <= offset < until`, about `maxBytes` of them, from the first
   * segment that has any. `next` is where to continue: after the last record returned, or the
   * durable end (bounded by `until`) if nothing was there.
   */
  async read(
    from: number,
    maxBytes = 1 << 20,
    until = Number.POSITIVE_INFINITY,
  ): Promise<{ records: BusRecord[]; next: number }> {
    const limit = Math.min(until, this.durableNext);
    if (from < limit && this.tail.has(from)) {
      this.stats.tailReads++;
      const { topic, partition } = this;
      const records = this.tail.read(from, limit, maxBytes).map((r) => ({ topic, partition, ...r }));
      return { records, next: (records[records.length - 1] as BusRecord).offset + 1 };
    }
    const segs = this.segments;
    let i = segs.length - 1;
    while (i > 0 && segs[i]!.baseOffset > from) i--;
    const held = segs.slice(i);
    for (const s of held) s.acquire();
    try {
      for (let j = 0; j < held.length && from < limit; j++) {
        const seg = held[j]!;
        const { records } = await seg.read(from, limit, maxBytes);
        if (records.length > 0) {
          const { topic, partition } = this;
          const out = records.map((r) => ({ topic, partition, ...r }));
          return { records: out, next: records[records.length - 1]!.offset + 1 };
        }
        const nextSeg = held[j + 1];
        if (nextSeg) from = Math.max(from, nextSeg.baseOffset);
      }
      return { records: [], next: Math.max(from, limit) };
    } finally {
      for (const s of held) s.release();
    }
  }

  /** Runs maintenance (retention, compaction) one at a time per partition. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(fn, fn);
    this.mutex = run.catch(() => {});
    return run;
  }

  /** Removes the `n` oldest segments from the list (retention deletes their files). */
  dropOldest(n: number): void {
    this.segments = this.segments.slice(n);
  }

  /** Swaps `old` for `replacement` (or drops it) in the segment list; for compaction. */
  replaceSegment(old: Segment, replacement: Segment | undefined): void {
    this.segments = this.segments.flatMap((s) => (s === old ? (replacement ? [replacement] : []) : [s]));
    old.retire();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Waits for queued appends, syncs, wakes waiters and closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commits.drained;
    await this.exclusive(async () => {});
    if (!this.options.fsync) this.synced = true;
    else if (!this.failed)
      await this.writeHandle.datasync().then(
        () => {
          this.synced = true;
        },
        () => {},
      );
    this.notifier.wake();
    for (const s of this.segments) await s.close();
  }
}
