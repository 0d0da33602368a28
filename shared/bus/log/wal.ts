/**
 * The write-ahead file of the embedded log: one durable write per round for every partition.
 *
 * Without it each partition made its own appends durable (an O_DSYNC write per partition and batch);
 * a message touches five to seven partitions on its way (inbox, changelog, attempts, events…), so a
 * busy relay paid five to seven synchronous disk writes, and as many thread-pool hand-offs, per
 * message. With it a partition writes its frames to its segment file without waiting for the disk
 * (the page cache), then hands the same frames here; every partition that flushed in the same turn of
 * the event loop shares one O_DSYNC write of this file (group commit across partitions, as
 * partition-log.ts does within one). An append is acknowledged when that write returns.
 *
 * Layout: `<log dir>/wal/<sequence, 20 digits>.wal`, entries of
 *
 *   u32  length     bytes that follow this field (crc + header + frames)
 *   u32  crc        CRC-32 of the header
 *   header:  u16 topicLength, topic (UTF-8), u32 partition
 *   frames:  the partition's record frames, exactly as in its segment (format.ts, each with its own CRC)
 *
 * or, under the topic name `""` (no topic has it), a line of the committed offsets' journal
 * (offsets.ts, which checks its own CRC).
 *
 * Checkpoints: once the active file passes `fileBytes` a new one is started; every segment written
 * while the old one was active is then fdatasync'ed, and the old file deleted. Segments closed in the
 * meantime were fdatasync'ed when they closed (partition-log.ts `roll`). So the files on disk always
 * cover every acknowledged record that a segment may not yet hold durably.
 *
 * Recovery (`readWalEntries`, used by log-bus.ts): after each partition has cut off its torn tail,
 * the files are read in order and every record a partition lacks (offset ≥ its end) is appended again
 * from here; then they are deleted. A torn entry at a file's end — a write the crash interrupted,
 * never acknowledged — ends that file. A clean shutdown syncs every segment and leaves no file.
 */
import { mkdir, readdir, readFile, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { crc32 } from "node:zlib";
import { fdClose, fdDatasync, fdFtruncate, fdOpen } from "../../durable-fs.ts";
import { checkFrame } from "./format.ts";
import { DSYNC_OPEN, fsyncDir, writeAll, writeFlags } from "./fsutil.ts";
import { GroupCommit } from "./group-commit.ts";
import type { LogBusLogger } from "./logger.ts";

/** The entry "topic" of the committed offsets' journal lines (an empty name, which no topic has). */
export const OFFSETS_ENTRY = "";

/** What the write-ahead file needs of a partition: its name, and making its segment writes durable. */
export interface WalPartition {
  readonly topic: string;
  readonly partition: number;
  /** fdatasyncs everything written to the partition's segment so far (a checkpoint). */
  syncWritten(): Promise<void>;
}

export interface WalEntry {
  topic: string;
  partition: number;
  /** Whole, checked record frames, in offset order; for OFFSETS_ENTRY one journal line. */
  frames: Buffer[];
  offsets: number[];
}

export interface WriteAheadLogOptions {
  /** The log's directory; the files live in `<dir>/wal`. */
  dir: string;
  /** A checkpoint starts once the active file is this large. */
  fileBytes: number;
  logger: LogBusLogger;
}

/** Buffers in one writev at most (IOV_MAX is 1,024 on Linux). */
const MAX_IOV = 1024;
const ENTRY_PREFIX = 8;

interface Pending {
  log: WalPartition;
  bufs: Buffer[];
  bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

const walFileName = (seq: number) => `${String(seq).padStart(20, "0")}.wal`;
const parseWalFileName = (name: string) => {
  const m = /^(\d{20})\.wal$/.exec(name);
  return m ? Number(m[1]) : undefined;
};

/** The entry header of one partition's frames (length covers the frames that follow it). */
function entryHeader(topic: string, partition: number, framesBytes: number): Buffer {
  const topicLen = Buffer.byteLength(topic, "utf8");
  const header = Buffer.allocUnsafe(ENTRY_PREFIX + 2 + topicLen + 4);
  header.writeUInt16LE(topicLen, ENTRY_PREFIX);
  header.write(topic, ENTRY_PREFIX + 2, "utf8");
  header.writeUInt32LE(partition, ENTRY_PREFIX + 2 + topicLen);
  header.writeUInt32LE(header.length - 4 + framesBytes, 0);
  header.writeUInt32LE(crc32(header.subarray(ENTRY_PREFIX)), 4);
  return header;
}

export class WriteAheadLog {
  private fd = -1;
  private seq = 0;
  private pos = 0;
  /** Partitions with entries in the active file: its checkpoint syncs them. */
  private written = new Set<WalPartition>();
  private readonly commits = new GroupCommit<Pending>({
    write: (batch) => this.write(batch),
    written: async (batch) => {
      for (const p of batch) p.resolve();
      if (this.pos >= this.options.fileBytes) await this.rotate();
    },
    failed: async (e, batch) => {
      await this.refuse(e, batch);
      return true;
    },
  });
  private checkpointing: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  private readonly walDir: string;
  /** Counters for tests and metrics: `writes` well below the partitions' batches is the point. */
  readonly stats = { writes: 0, entries: 0, checkpoints: 0 };

  private constructor(private readonly options: WriteAheadLogOptions) {
    this.walDir = join(options.dir, "wal");
  }

  /** The files a crash left (oldest first), to replay before `start`. */
  static async leftovers(dir: string): Promise<string[]> {
    const walDir = join(dir, "wal");
    await mkdir(walDir, { recursive: true });
    const seqs = (await readdir(walDir))
      .map(parseWalFileName)
      .filter((s): s is number => s !== undefined)
      .sort((a, b) => a - b);
    return seqs.map((s) => join(walDir, walFileName(s)));
  }

  /** Starts a new file after `previous` (the leftovers, still on disk until `dropFiles`). */
  static async start(options: WriteAheadLogOptions, previous: string[]): Promise<WriteAheadLog> {
    const wal = new WriteAheadLog(options);
    const last = previous[previous.length - 1];
    const lastSeq = last ? parseWalFileName(basename(last)) : undefined;
    await wal.openFile((lastSeq ?? 0) + 1);
    return wal;
  }

  /** Creates file `seq` (its directory entry durable) and makes it the one appended to. */
  private async openFile(seq: number): Promise<void> {
    const path = join(this.walDir, walFileName(seq));
    const fd = await fdOpen(path, writeFlags({ create: true, dsync: DSYNC_OPEN }));
    try {
      await fsyncDir(this.walDir);
    } catch (e) {
      await fdClose(fd).catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw e;
    }
    this.fd = fd;
    this.seq = seq;
    this.pos = 0;
  }

  /** Resolves once `frames` (already written to `log`'s segment) are durable here. */
  append(log: WalPartition, frames: Buffer[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    let framesBytes = 0;
    for (const f of frames) framesBytes += f.length;
    const header = entryHeader(log.topic, log.partition, framesBytes);
    return new Promise((resolve, reject) => {
      // Every partition whose flush runs in this turn of the event loop joins the write.
      this.commits.push({
        log,
        bufs: [header, ...frames],
        bytes: header.length + framesBytes,
        resolve,
        reject,
      });
    });
  }

  private async write(batch: Pending[]): Promise<void> {
    if (this.failed) throw this.failed;
    const bufs: Buffer[] = [];
    let bytes = 0;
    for (const p of batch) {
      for (const b of p.bufs) bufs.push(b);
      bytes += p.bytes;
      // In the file this write goes to (a rotation happens only between writes).
      this.written.add(p.log);
    }
    await writeAll(this.fd, bufs.length > MAX_IOV ? [Buffer.concat(bufs, bytes)] : bufs, this.pos);
    if (!DSYNC_OPEN) await fdDatasync(this.fd);
    this.pos += bytes;
    this.stats.writes++;
    this.stats.entries += batch.length;
  }

  /**
   * A failed write (ENOSPC, EIO): its appends are refused (each partition then cuts its segment back)
   * and the file is cut back to its last whole entry, so that what follows stays readable. If that
   * cut fails too, every later append is refused until the log is reopened.
   */
  private async refuse(error: unknown, batch: Pending[]): Promise<void> {
    const cause = new Error("write-ahead file: write failed, batch refused", { cause: error });
    if (!this.failed) {
      try {
        await fdFtruncate(this.fd, this.pos);
        await fdDatasync(this.fd);
      } catch (e) {
        this.failed = new Error("write-ahead file failed writing; reopen the log to recover", { cause: e });
        this.options.logger.error({ err: String(e) }, "write-ahead file could not cut a failed write back");
      }
    }
    for (const p of batch) p.reject(this.failed ?? cause);
  }

  /** Starts the next file, then (in the background, one at a time) checkpoints the previous one. */
  private async rotate(): Promise<void> {
    const oldFd = this.fd;
    const oldPath = join(this.walDir, walFileName(this.seq));
    const written = this.written;
    try {
      await this.openFile(this.seq + 1);
    } catch (e) {
      // Keep appending to the current file; the next round tries again.
      this.options.logger.warn({ err: String(e) }, "write-ahead file: could not start the next file");
      return;
    }
    this.written = new Set();
    this.checkpointing = this.checkpointing.then(() => this.checkpoint(oldFd, oldPath, written));
  }

  private async checkpoint(fd: number, path: string, written: Set<WalPartition>): Promise<void> {
    try {
      for (const log of written) await log.syncWritten();
      await fdClose(fd);
      await unlink(path);
      this.stats.checkpoints++;
    } catch (e) {
      // The file stays: a recovery replays what it holds (and finds most of it already there).
      this.options.logger.error({ err: String(e), file: path }, "write-ahead checkpoint failed; file kept");
      await fdClose(fd).catch(() => undefined);
    }
  }

  /**
   * After every partition has closed its segments: waits for writes and checkpoints, then, when
   * every segment was synced (`segmentsSynced`, a clean shutdown), deletes the files, which then hold
   * nothing the segments do not. Otherwise they stay for the next open to replay.
   */
  async close(segmentsSynced: boolean): Promise<void> {
    await this.commits.drained;
    await this.checkpointing;
    await fdClose(this.fd).catch(() => undefined);
    if (this.failed || !segmentsSynced) return;
    await dropFiles(await WriteAheadLog.leftovers(this.options.dir));
  }
}

/** Deletes replayed (or checkpointed) files. */
export async function dropFiles(paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  for (const p of paths) await unlink(p);
  await fsyncDir(dirname(paths[0]!));
}

/**
 * The entries of one file, in order, up to its first torn or corrupt entry (an interrupted write at
 * its end). `torn` is set when it stopped early.
 */
export async function readWalEntries(path: string): Promise<{ entries: WalEntry[]; torn?: string }> {
  const buf = await readFile(path);
  const entries: WalEntry[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < ENTRY_PREFIX + 6) return { entries, torn: "short entry" };
    const end = pos + 4 + buf.readUInt32LE(pos);
    const topicLen = buf.readUInt16LE(pos + ENTRY_PREFIX);
    const headerEnd = pos + ENTRY_PREFIX + 2 + topicLen + 4;
    if (headerEnd > buf.length || end > buf.length || end < headerEnd)
      return { entries, torn: "short entry" };
    if (crc32(buf.subarray(pos + ENTRY_PREFIX, headerEnd)) !== buf.readUInt32LE(pos + 4))
      return { entries, torn: "entry header crc" };
    const topic = buf.toString("utf8", pos + ENTRY_PREFIX + 2, pos + ENTRY_PREFIX + 2 + topicLen);
    const partition = buf.readUInt32LE(headerEnd - 4);
    const frames: Buffer[] = [];
    const offsets: number[] = [];
    if (topic === OFFSETS_ENTRY) frames.push(buf.subarray(headerEnd, end));
    else
      for (let p = headerEnd; p < end; ) {
        const check = checkFrame(buf, p, end);
        if (!check.ok) return { entries, torn: `frame ${check.reason}` };
        frames.push(buf.subarray(p, p + check.size));
        offsets.push(check.offset);
        p += check.size;
      }
    entries.push({ topic, partition, frames, offsets });
    pos = end;
  }
  return { entries };
}
