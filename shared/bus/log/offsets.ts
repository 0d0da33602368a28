/**
 * Committed offsets of every consumer group, `{ group: { topic: { partition: offset } } }`, kept as
 * a snapshot plus a journal:
 *   offsets.json   the state at the last compaction, replaced atomically (tmp + fsync + rename +
 *                  fsync dir)
 *   offsets.log    the commits since, appended: one line per write, `<crc32 hex 8> <json>\n`, the
 *                  json `[[group, topic, partition, offset], …]`; fdatasync'd
 * A write appends what changed since the previous write and fdatasyncs the journal (one system
 * call of durability and no new inode, where rewriting offsets.json for every commit cost an open,
 * two fsyncs, a rename and an inode's allocation and release: ~10 % of the relay's accept rate on
 * ingress (a), BENCHMARKS.md). Once the journal is past `JOURNAL_MAX` bytes the state is written as
 * a new snapshot and the journal cut to nothing. Opening reads the snapshot, then replays the
 * journal in order up to the first line that does not check (a torn append), which is cut off.
 * Concurrent commits are coalesced: each write covers every change made before it started, and a
 * commit resolves once a write that covers it has completed (group commit, like the log's).
 * With the log's write-ahead file (wal.ts) the journal is written without waiting for the disk and
 * the same line goes into the write-ahead file's next write, shared with the partitions' appends; the
 * journal is fdatasync'ed at the file's checkpoints and on close.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import {
  DSYNC_OPEN,
  fdClose,
  fdDatasync,
  fdFtruncate,
  fdOpen,
  fdSync,
  writeAll,
  writeAllSync,
  writeFlags,
} from "../../durable-fs.ts";
import { atomicWriteFile, fsyncDir, isNotFound, unlinkIfExists } from "./fsutil.ts";
import { OFFSETS_ENTRY, type WalPartition, type WriteAheadLog } from "./wal.ts";

export interface OffsetEntry {
  topic: string;
  partition: number;
  offset: number;
}

export type Offsets = Map<string, Map<string, Map<number, number>>>;
type Change = [group: string, topic: string, partition: number, offset: number];

/** The journal is folded into a new snapshot once it grows past this. */
const JOURNAL_MAX = 1 << 20;

function setOffset(offsets: Offsets, group: string, topic: string, partition: number, offset: number): void {
  let g = offsets.get(group);
  if (!g) {
    g = new Map();
    offsets.set(group, g);
  }
  let t = g.get(topic);
  if (!t) {
    t = new Map();
    g.set(topic, t);
  }
  t.set(partition, offset);
}

function journalLine(changes: Change[]): Buffer {
  const json = Buffer.from(JSON.stringify(changes));
  return Buffer.concat([
    Buffer.from(`${crc32(json).toString(16).padStart(8, "0")} `),
    json,
    Buffer.from("\n"),
  ]);
}

/**
 * Folds the snapshot text and the journal bytes into `offsets`; returns how many journal bytes
 * are whole, checked lines (the rest is a torn append).
 */
export function load(offsets: Offsets, snapshot: string | undefined, journal: Buffer | undefined): number {
  if (snapshot !== undefined) {
    const data = JSON.parse(snapshot) as Record<string, Record<string, Record<string, number>>>;
    for (const [group, topics] of Object.entries(data))
      for (const [topic, parts] of Object.entries(topics))
        for (const [p, o] of Object.entries(parts)) setOffset(offsets, group, topic, Number(p), o);
  }
  let good = 0;
  if (!journal) return good;
  while (good < journal.length) {
    const end = journal.indexOf(0x0a, good);
    if (end < 0 || end - good < 10 || journal[good + 8] !== 0x20) break;
    const json = journal.subarray(good + 9, end);
    if (crc32(json).toString(16).padStart(8, "0") !== journal.toString("latin1", good, good + 8)) break;
    let changes: Change[];
    try {
      changes = JSON.parse(json.toString("utf8")) as Change[];
    } catch {
      break;
    }
    for (const [group, topic, partition, offset] of changes)
      setOffset(offsets, group, topic, partition, offset);
    good = end + 1;
  }
  return good;
}

function readIfExists<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * The committed offsets in a log directory, read synchronously without opening the log (tests and
 * tools look at a running relay's commits): group → topic → partition → offset.
 */
export function readCommittedOffsets(dir: string): Record<string, Record<string, Record<string, number>>> {
  const offsets: Offsets = new Map();
  load(
    offsets,
    readIfExists(() => readFileSync(join(dir, "offsets.json"), "utf8")),
    readIfExists(() => readFileSync(join(dir, "offsets.log"))),
  );
  const out: Record<string, Record<string, Record<string, number>>> = {};
  for (const [group, topics] of offsets) {
    out[group] = {};
    for (const [topic, parts] of topics) out[group][topic] = Object.fromEntries(parts);
  }
  return out;
}

export class OffsetStore implements WalPartition {
  /** How the write-ahead file names this journal's entries. */
  readonly topic = OFFSETS_ENTRY;
  readonly partition = 0;
  private readonly offsets: Offsets = new Map();
  private version = 0;
  private writtenVersion = 0;
  private writing = false;
  private waiters: { version: number; resolve(): void; reject(e: unknown): void }[] = [];
  private failed: Error | undefined;
  private readonly path: string;
  private readonly journalPath: string;
  /** The journal's descriptor (append only) and its length. */
  private journal = -1;
  private journalBytes = 0;
  /** Changes since the last write, by group/topic/partition (the last value of each). */
  private changes = new Map<string, Change>();
  /** Called after a write made commits durable, with the topics they touched. */
  onDurable: ((topics: Set<string>) => void) | undefined;
  private touched = new Set<string>();

  private constructor(
    dir: string,
    private readonly fsync: boolean,
    private readonly journalMax: number,
    private readonly wal: WriteAheadLog | undefined,
  ) {
    this.path = join(dir, "offsets.json");
    this.journalPath = join(dir, "offsets.log");
  }

  /** `journalMax`: journal bytes past which a snapshot is written (tests make it small). */
  /** `wal`: the log's write-ahead file, which then makes the journal's appends durable (with `fsync`). */
  static async open(
    dir: string,
    fsync: boolean,
    o: { journalMax?: number; wal?: WriteAheadLog } = {},
  ): Promise<OffsetStore> {
    const store = new OffsetStore(dir, fsync, o.journalMax ?? JOURNAL_MAX, fsync ? o.wal : undefined);
    await unlinkIfExists(`${store.path}.tmp`);
    const snapshot = await readFile(store.path, "utf8").catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    const journal = await readFile(store.journalPath).catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    const good = load(store.offsets, snapshot, journal);
    // Not O_APPEND: Linux ignores the position of a positional write to an O_APPEND descriptor,
    // and every append is written at the journal's known end.
    // O_DSYNC when the log fsyncs (durable-fs.ts DSYNC_OPEN): an append is durable when it returns.
    store.journal = await fdOpen(
      store.journalPath,
      writeFlags({ create: journal === undefined, dsync: fsync && DSYNC_OPEN && !store.wal }),
      0o644,
    );
    if (journal === undefined && fsync) await fsyncDir(dir);
    if (journal && good < journal.length) {
      // A torn last append (a crash inside a write): cut it off before appending after it.
      await fdFtruncate(store.journal, good);
      if (fsync) await fdSync(store.journal);
    }
    store.journalBytes = good;
    return store;
  }

  get(group: string, topic: string, partition: number): number | undefined {
    return this.offsets.get(group)?.get(topic)?.get(partition);
  }

  /** The committed offsets of every group that has committed on `topic`: group → partition → offset. */
  groupsOf(topic: string): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>();
    for (const [group, topics] of this.offsets) {
      const parts = topics.get(topic);
      if (parts && parts.size > 0) out.set(group, parts);
    }
    return out;
  }

  /** Sets the offsets (visible at once) and resolves when they are durable. */
  commit(group: string, entries: OffsetEntry[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (entries.length === 0) return Promise.resolve();
    for (const { offset } of entries) {
      if (!Number.isSafeInteger(offset) || offset < 0)
        return Promise.reject(new RangeError(`bad offset ${offset}`));
    }
    for (const { topic, partition, offset } of entries) {
      setOffset(this.offsets, group, topic, partition, offset);
      this.changes.set(JSON.stringify([group, topic, partition]), [group, topic, partition, offset]);
      this.touched.add(topic);
    }
    const version = ++this.version;
    return new Promise((resolve, reject) => {
      this.waiters.push({ version, resolve, reject });
      if (!this.writing) void this.writeLoop();
    });
  }

  private serialize(): string {
    const data: Record<string, Record<string, Record<string, number>>> = {};
    for (const [group, topics] of this.offsets) {
      const g: Record<string, Record<string, number>> = {};
      for (const [topic, parts] of topics) g[topic] = Object.fromEntries(parts);
      data[group] = g;
    }
    return JSON.stringify(data);
  }

  /**
   * One durable write of `changes`: appended to the journal; once the journal is past its bound,
   * the whole state is written as the snapshot and the journal cut. The changes are journalled
   * first, so a crash between the snapshot's rename and the cut replays a journal whose last value
   * of every key is the snapshot's: the same state.
   */
  private async write(changes: Change[]): Promise<void> {
    const line = journalLine(changes);
    // At the journal's known end: a failed append's partial bytes are overwritten by the next.
    if (this.wal) {
      writeAllSync(this.journal, [line], this.journalBytes);
      await this.wal.append(this, [line]);
    } else {
      await writeAll(this.journal, [line], this.journalBytes);
      if (this.fsync && !DSYNC_OPEN) await fdDatasync(this.journal);
    }
    this.journalBytes += line.length;
    if (this.journalBytes < this.journalMax) return;
    await atomicWriteFile(this.path, this.serialize(), this.fsync);
    await fdFtruncate(this.journal, 0);
    if (this.fsync) await fdSync(this.journal);
    this.journalBytes = 0;
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.writtenVersion < this.version) {
        const version = this.version;
        const touched = this.touched;
        this.touched = new Set();
        const changes = [...this.changes.values()];
        this.changes = new Map();
        try {
          await this.write(changes);
        } catch (e) {
          this.failed = new Error("writing committed offsets failed", { cause: e });
          for (const w of this.waiters.splice(0)) w.reject(this.failed);
          return;
        }
        this.writtenVersion = version;
        const done = this.waiters.filter((w) => w.version <= version);
        this.waiters = this.waiters.filter((w) => w.version > version);
        for (const w of done) w.resolve();
        this.onDurable?.(touched);
      }
    } finally {
      this.writing = false;
    }
  }

  /** Resolves when every commit made so far is durable. */
  async flush(): Promise<void> {
    if (this.writtenVersion >= this.version) return;
    const version = this.version;
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({ version, resolve, reject });
      if (!this.writing) void this.writeLoop();
    });
  }

  /**
   * After a crash, the commits the write-ahead file held (the last offset of each group, topic and
   * partition among them): set and journalled again, durable when this resolves.
   */
  restore(commits: Offsets): Promise<void> {
    const all: Promise<void>[] = [];
    for (const [group, topics] of commits) {
      const entries: OffsetEntry[] = [];
      for (const [topic, parts] of topics)
        for (const [partition, offset] of parts) entries.push({ topic, partition, offset });
      all.push(this.commit(group, entries));
    }
    return Promise.all(all).then(() => undefined);
  }

  /** The write-ahead file's checkpoint: the journal's appends made durable. */
  async syncWritten(): Promise<void> {
    if (this.journal >= 0) await fdDatasync(this.journal);
  }

  /** Flushes, then closes the journal (fdatasync'ed first when the write-ahead file covered it). */
  async close(): Promise<void> {
    await this.flush();
    if (this.journal >= 0) {
      if (this.wal) await fdDatasync(this.journal);
      await fdClose(this.journal);
    }
    this.journal = -1;
  }
}
