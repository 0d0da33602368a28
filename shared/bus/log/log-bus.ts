/**
 * `LogBus`: the embedded durable log, the bus of a single-process Petrel.
 *
 * Layout under `dir`:
 *   LOCK                                    pid of the process that has the log open
 *   offsets.json, offsets.log               committed offsets of every group: snapshot + journal (offsets.ts)
 *   topics/<topic>/meta.json                { name, partitions, compacted }, written atomically
 *   topics/<topic>/<partition>/<base>.log   segment files (format.ts, segment.ts)
 *   wal/<sequence>.wal                      the write-ahead file (wal.ts); none after a clean shutdown
 *
 * A publish resolves once its records are durable: written to their segment and to the write-ahead
 * file, whose one O_DSYNC write per round serves every partition (group commit, partition-log.ts);
 * consumer groups are coordinated in process (group.ts). Maintenance runs periodically and after
 * commits: retention deletes closed segments every group that committed on the topic has
 * consumed (never on compacted topics, whose history is replayed), compaction rewrites closed
 * segments of compacted topics.
 */
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { partitionFor } from "../partition.ts";
import type {
  Bus,
  BusRecord,
  GroupLag,
  OutRecord,
  PublishResult,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from "../types.ts";
import type { CompactionResult } from "./compaction.ts";
import { atomicWriteFile, fsyncDir, isNotFound, unlinkIfExists } from "./fsutil.ts";
import { GroupCoordinator } from "./group.ts";
import { lockDir } from "./lock.ts";
import { type LogBusLogger, stderrLogger } from "./logger.ts";
import { type MaintainedTopic, Maintenance } from "./maintenance.ts";
import { load as loadOffsets, OffsetStore, type Offsets } from "./offsets.ts";
import { PartitionLog, type RecoveryNote } from "./partition-log.ts";
import { CorruptSegmentError } from "./segment.ts";
import { dropFiles, OFFSETS_ENTRY, readWalEntries, WriteAheadLog } from "./wal.ts";

export interface LogBusOptions {
  dir: string;
  /** A segment is closed and a new one started once it would grow past this. Default 64 MiB. */
  segmentBytes?: number;
  /** Record timestamps. Default Date.now. */
  clock?: () => number;
  /** fsync appends, offsets and metadata. Default true; false only for throwaway data. */
  fsync?: boolean;
  logger?: LogBusLogger;
  /** Period of the retention/compaction sweep; 0 disables the timer. Default 60 s. */
  maintenanceIntervalMs?: number;
  /** The write-ahead file is checkpointed (and a new one started) past this size. Default 64 MiB. */
  walBytes?: number;
}

interface TopicState extends MaintainedTopic {
  spec: Required<TopicSpec>;
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const READ_BYTES = 1 << 20;

export class LogBus implements Bus {
  readonly kind = "log" as const;
  /** What recovery cut off when the log was opened (empty after a clean shutdown). */
  readonly recovery: RecoveryNote[] = [];
  private readonly opts: Required<Omit<LogBusOptions, "logger">> & { logger: LogBusLogger };
  private readonly topics = new Map<string, TopicState>();
  private readonly groups = new Map<string, GroupCoordinator>();
  private offsets!: OffsetStore;
  private unlock: (() => Promise<void>) | undefined;
  private state: "new" | "open" | "closing" | "closed" = "new";
  private topicChain: Promise<unknown> = Promise.resolve();
  private maintenance!: Maintenance;
  private wal: WriteAheadLog | undefined;

  constructor(options: LogBusOptions) {
    this.opts = {
      dir: options.dir,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      clock: options.clock ?? Date.now,
      fsync: options.fsync ?? true,
      logger: options.logger ?? stderrLogger,
      maintenanceIntervalMs: options.maintenanceIntervalMs ?? 60_000,
      walBytes: options.walBytes ?? 64 * 1024 * 1024,
    };
  }

  static async open(options: LogBusOptions): Promise<LogBus> {
    const bus = new LogBus(options);
    await bus.open();
    return bus;
  }

  private get topicsDir(): string {
    return join(this.opts.dir, "topics");
  }

  /** Takes the directory lock and recovers every topic found on disk. */
  async open(): Promise<void> {
    if (this.state !== "new") throw new Error("LogBus.open() called twice");
    await mkdir(this.topicsDir, { recursive: true });
    if (this.opts.fsync) await fsyncDir(this.opts.dir);
    this.unlock = await lockDir(this.opts.dir);
    try {
      const leftovers = this.opts.fsync ? await WriteAheadLog.leftovers(this.opts.dir) : [];
      if (this.opts.fsync) {
        const { dir, walBytes: fileBytes, logger } = this.opts;
        this.wal = await WriteAheadLog.start({ dir, fileBytes, logger }, leftovers);
      }
      this.offsets = await OffsetStore.open(this.opts.dir, this.opts.fsync, { wal: this.wal });
      this.maintenance = new Maintenance(this.topics, this.offsets, this.opts.logger);
      this.offsets.onDurable = (topics) => this.maintenance.committed(topics);
      for (const entry of await readdir(this.topicsDir, { withFileTypes: true })) {
        if (entry.isDirectory()) await this.loadTopic(entry.name);
      }
      await this.replayWal(leftovers);
    } catch (e) {
      for (const t of this.topics.values()) for (const l of t.logs) await l.close().catch(() => {});
      await this.wal?.close(false).catch(() => {});
      await this.unlock();
      throw e;
    }
    this.state = "open";
    this.maintenance.start(this.opts.maintenanceIntervalMs);
  }

  private async loadTopic(name: string): Promise<void> {
    const dir = join(this.topicsDir, name);
    await unlinkIfExists(join(dir, "meta.json.tmp"));
    let spec: Required<TopicSpec>;
    try {
      spec = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as Required<TopicSpec>;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      // Creation never reached its commit point (meta.json). Left alone: ensureTopics of the same
      // name later adopts whatever partition directories are there.
      this.opts.logger.warn({ topic: name }, "ignoring topic directory without meta.json");
      return;
    }
    if (spec.name !== name || !Number.isInteger(spec.partitions) || spec.partitions < 1) {
      throw new Error(`bad topic metadata in ${join(dir, "meta.json")}`);
    }
    const logs = await Promise.all(
      Array.from({ length: spec.partitions }, (_, p) => this.openPartition(spec.name, p, this.recovery)),
    );
    this.topics.set(spec.name, { spec, compacted: spec.compacted, logs });
  }

  private openPartition(topic: string, partition: number, notes: RecoveryNote[] = []): Promise<PartitionLog> {
    const { segmentBytes, fsync, clock, logger } = this.opts;
    const dir = join(this.topicsDir, topic, String(partition));
    const { wal } = this;
    return PartitionLog.open({ dir, topic, partition, segmentBytes, fsync, clock, logger, wal }, notes);
  }

  /**
   * After a crash: appends again every record of the write-ahead files that its partition lacks (a
   * segment write the disk never got, as after a power loss; after a killed process the segments
   * normally hold everything), through the new write-ahead file, then deletes the old files. A record
   * that would leave a gap in its partition means lost data: the log refuses to open.
   */
  private async replayWal(files: string[]): Promise<void> {
    if (files.length === 0) return;
    const restored = new Map<PartitionLog, number>();
    const appends: Promise<unknown>[] = [];
    // Committed offsets: the last of each key among the files' journal lines (newer than the journal's).
    const commits: Offsets = new Map();
    for (const file of files) {
      const { entries, torn } = await readWalEntries(file);
      if (torn)
        this.opts.logger.warn({ file, reason: torn }, "write-ahead file ends in an interrupted write");
      for (const e of entries) {
        if (e.topic === OFFSETS_ENTRY) {
          loadOffsets(commits, undefined, e.frames[0]);
          continue;
        }
        const log = this.topics.get(e.topic)?.logs[e.partition];
        if (!log) {
          this.opts.logger.warn(
            { topic: e.topic, partition: e.partition, file },
            "write-ahead records of an unknown partition skipped",
          );
          continue;
        }
        const from = e.offsets.findIndex((o) => o >= log.nextOffset);
        if (from < 0) continue;
        if (e.offsets[from] !== log.nextOffset)
          throw new CorruptSegmentError(
            `${e.topic}/${e.partition}: its log ends at offset ${log.nextOffset} but the write-ahead file ${file} continues at ${e.offsets[from]}`,
          );
        appends.push(log.restore(e.frames.slice(from), e.offsets.slice(from)));
        restored.set(log, (restored.get(log) ?? 0) + e.offsets.length - from);
      }
    }
    appends.push(this.offsets.restore(commits));
    await Promise.all(appends);
    for (const [log, n] of restored) {
      const note = {
        topic: log.topic,
        partition: log.partition,
        segment: log.active.path,
        droppedBytes: 0,
        reason: `restored ${n} records from the write-ahead file`,
      };
      this.recovery.push(note);
      this.opts.logger.warn({ ...note }, "log recovery restored records its segment had lost");
    }
    await dropFiles(files);
  }

  /** Publishing and reading stay possible while close() waits for in-flight handlers. */
  private assertOpen(allowClosing = false): void {
    if (this.state === "open" || (allowClosing && this.state === "closing")) return;
    throw new Error(this.state === "new" ? "LogBus is not open" : "LogBus is closed");
  }

  private topic(name: string): TopicState {
    this.assertOpen(true);
    const t = this.topics.get(name);
    if (!t) throw new Error(`unknown topic ${name}`);
    return t;
  }

  ensureTopics(specs: TopicSpec[]): Promise<void> {
    const run = this.topicChain.then(async () => {
      this.assertOpen();
      for (const s of specs) {
        if (this.topics.has(s.name)) continue;
        if (!TOPIC_NAME.test(s.name) || s.name === "." || s.name === "..")
          throw new Error(`bad topic name ${s.name}`);
        if (!Number.isInteger(s.partitions) || s.partitions < 1)
          throw new Error(`bad partition count ${s.partitions}`);
        const spec = { name: s.name, partitions: s.partitions, compacted: s.compacted ?? false };
        const dir = join(this.topicsDir, s.name);
        await mkdir(dir, { recursive: true });
        const logs = await Promise.all(
          Array.from({ length: spec.partitions }, (_, p) => this.openPartition(s.name, p)),
        );
        if (this.opts.fsync) {
          await fsyncDir(dir);
          await fsyncDir(this.topicsDir);
        }
        await atomicWriteFile(join(dir, "meta.json"), JSON.stringify(spec), this.opts.fsync);
        this.topics.set(s.name, { spec, compacted: spec.compacted, logs });
      }
    });
    this.topicChain = run.catch(() => {});
    return run;
  }

  /** The write-ahead file's counters (undefined without fsync): writes, entries, checkpoints. */
  get writeAheadStats(): Readonly<WriteAheadLog["stats"]> | undefined {
    return this.wal?.stats;
  }

  async partitionCount(topic: string): Promise<number> {
    return this.topic(topic).logs.length;
  }

  async publish(topic: string, records: OutRecord[]): Promise<PublishResult[]> {
    const t = this.topic(topic);
    const n = t.logs.length;
    const byPartition = new Map<number, { index: number[]; records: OutRecord[] }>();
    records.forEach((r, i) => {
      if (typeof r.key !== "string" || !(r.value instanceof Uint8Array))
        throw new TypeError("record needs a string key and a Uint8Array value");
      const p = r.partition ?? partitionFor(r.key, n);
      if (!Number.isInteger(p) || p < 0 || p >= n) throw new RangeError(`${topic} has no partition ${p}`);
      let g = byPartition.get(p);
      if (!g) {
        g = { index: [], records: [] };
        byPartition.set(p, g);
      }
      g.index.push(i);
      g.records.push(r);
    });
    const results = new Array<PublishResult>(records.length);
    // Offsets are assigned synchronously in each append, so a call's records keep their order.
    const appends = [...byPartition].map(async ([p, g]) => {
      const offsets = await t.logs[p]!.append(g.records);
      offsets.forEach((offset, j) => {
        results[g.index[j]!] = { topic, partition: p, offset };
      });
    });
    await Promise.all(appends);
    return results;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    if (options.topics.length === 0) throw new Error("subscribe needs at least one topic");
    for (const t of options.topics) this.topic(t);
    let g = this.groups.get(options.group);
    if (!g) {
      g = new GroupCoordinator(options.group, {
        log: (topic, partition) => this.topic(topic).logs[partition]!,
        partitionCount: (topic) => this.topic(topic).logs.length,
        offsets: this.offsets,
      });
      this.groups.set(options.group, g);
    }
    return g.join(options);
  }

  async replay(topic: string, partitions: number[], onRecord: (record: BusRecord) => void): Promise<void> {
    const t = this.topic(topic);
    const logs = partitions.map((p) => {
      const log = t.logs[p];
      if (!log) throw new RangeError(`topic ${topic} has no partition ${p}`);
      return log;
    });
    const ends = logs.map((l) => l.durableNext);
    for (let i = 0; i < logs.length; i++) {
      const log = logs[i]!;
      const end = ends[i]!;
      let pos = 0;
      while (pos < end) {
        const { records, next } = await log.read(pos, READ_BYTES, end);
        for (const r of records) onRecord(r);
        pos = next;
      }
    }
  }

  async endOffsets(topic: string): Promise<number[]> {
    return this.topic(topic).logs.map((l) => l.durableNext);
  }

  async consumerLag(): Promise<GroupLag[]> {
    const out: GroupLag[] = [];
    for (const [group, g] of this.groups) {
      for (const topic of g.topics()) {
        let lag = 0;
        this.topic(topic).logs.forEach((log, p) => {
          lag += Math.max(0, log.durableNext - (this.offsets.get(group, topic, p) ?? log.startOffset()));
        });
        out.push({ group, topic, lag });
      }
    }
    return out;
  }

  /** Deletes consumed closed segments of `topics` (default: all); returns how many. */
  runRetention(topics?: Iterable<string>): Promise<number> {
    this.assertOpen();
    return this.maintenance.retention(topics);
  }

  /** Compacts the closed segments of a compacted topic (no-op for other topics). */
  compact(topic: string): Promise<CompactionResult> {
    this.topic(topic);
    return this.maintenance.compact(topic);
  }

  /** One maintenance pass now (retention and compaction), as the periodic timer does. */
  maintain(): Promise<void> {
    this.assertOpen();
    return this.maintenance.sweep();
  }

  /** Stops every consumer (waiting for in-flight handlers, committing), syncs and closes the files. */
  async close(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "closing";
    await this.maintenance.stop();
    await Promise.all([...this.groups.values()].map((g) => g.shutdown()));
    this.state = "closed";
    const offsetsSynced = await this.offsets.close().then(
      () => true,
      (e) => {
        this.opts.logger.error({ err: String(e) }, "offsets flush failed");
        return false;
      },
    );
    for (const t of this.topics.values()) await Promise.all(t.logs.map((l) => l.close()));
    const synced =
      offsetsSynced && [...this.topics.values()].every((t) => t.logs.every((l) => l.closedSynced));
    await this.wal
      ?.close(synced)
      .catch((e) => this.opts.logger.error({ err: String(e) }, "write-ahead close failed"));
    await this.unlock?.();
  }
}
