/**
 * Background upkeep of the log, one job at a time:
 *  - retention: a closed segment is deleted once every group that has committed on its topic has
 *    committed past all of its records (a partition a group has not committed is at 0 for it;
 *    with no such group nothing is deleted). Runs shortly after commits become durable and on
 *    every periodic sweep. Compacted topics are exempt: their history is what `replay` restores.
 *  - compaction of compacted topics whose partitions closed segments since the last pass
 *    (compaction.ts), on the periodic sweep.
 * The active segment is never touched by either.
 */
import { unlink } from "node:fs/promises";
import { type CompactionResult, compactPartition } from "./compaction.ts";
import { fsyncDir } from "./fsutil.ts";
import type { LogBusLogger } from "./logger.ts";
import type { OffsetStore } from "./offsets.ts";
import type { PartitionLog } from "./partition-log.ts";

export interface MaintainedTopic {
  compacted: boolean;
  logs: PartitionLog[];
}

/** Deletes the closed segments of `log` whose records are all below `floor`; returns how many. */
export function retainPartition(log: PartitionLog, floor: number): Promise<number> {
  return log.exclusive(async () => {
    const segs = log.segments;
    let n = 0;
    while (n < segs.length - 1 && segs[n + 1]!.baseOffset <= floor) n++;
    if (n === 0 || log.isClosed) return 0;
    const doomed = segs.slice(0, n);
    log.dropOldest(n);
    for (const seg of doomed) {
      await seg.file(); // a reader holding it keeps reading the unlinked file
      await unlink(seg.path);
      seg.retire();
    }
    if (log.options.fsync) await fsyncDir(log.dir);
    log.options.logger.info(
      { topic: log.topic, partition: log.partition, segments: n, floor },
      "retention deleted segments",
    );
    return n;
  });
}

export class Maintenance {
  private chain: Promise<void> = Promise.resolve();
  private pendingTopics = new Set<string>();
  private soon: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly topics: ReadonlyMap<string, MaintainedTopic>,
    private readonly offsets: OffsetStore,
    private readonly logger: LogBusLogger,
  ) {}

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  /** Stops the timers and waits for the running job. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await this.chain;
  }

  /** The offset every group that committed on the topic has reached, or undefined if none did. */
  floor(topic: string, partition: number): number | undefined {
    const groups = this.offsets.groupsOf(topic);
    if (groups.size === 0) return undefined;
    let min = Number.POSITIVE_INFINITY;
    for (const parts of groups.values()) min = Math.min(min, parts.get(partition) ?? 0);
    return min;
  }

  /** Deletes consumed closed segments of `names` (default: every topic); returns how many. */
  async retention(names?: Iterable<string>): Promise<number> {
    let deleted = 0;
    for (const name of names ?? [...this.topics.keys()]) {
      const t = this.topics.get(name);
      if (!t || t.compacted) continue;
      for (const log of t.logs) {
        const floor = this.floor(name, log.partition);
        if (floor !== undefined && !this.stopped) deleted += await retainPartition(log, floor);
      }
    }
    return deleted;
  }

  async compact(name: string): Promise<CompactionResult> {
    const total: CompactionResult = { segments: 0, recordsBefore: 0, recordsAfter: 0 };
    const t = this.topics.get(name);
    if (!t?.compacted) return total;
    for (const log of t.logs) {
      if (this.stopped) break;
      const r = await compactPartition(log);
      total.segments += r.segments;
      total.recordsBefore += r.recordsBefore;
      total.recordsAfter += r.recordsAfter;
    }
    return total;
  }

  /** Commits on these topics became durable: run retention on them shortly (coalesced). */
  committed(topics: Iterable<string>): void {
    for (const t of topics) this.pendingTopics.add(t);
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      const names = [...this.pendingTopics];
      this.pendingTopics.clear();
      void this.serial(() => this.retention(names));
    }, 100);
    this.soon.unref();
  }

  /** One full pass: retention everywhere, compaction where segments were closed since the last. */
  sweep(): Promise<void> {
    return this.serial(async () => {
      await this.retention();
      for (const [name, t] of this.topics) {
        if (t.compacted && t.logs.some((l) => l.rolledSinceCompaction > 0)) await this.compact(name);
      }
    });
  }

  private serial(fn: () => Promise<unknown>): Promise<void> {
    const run = this.chain.then(fn).then(
      () => {},
      (e) => this.logger.error({ err: String(e) }, "log maintenance failed"),
    );
    this.chain = run;
    return run;
  }
}
