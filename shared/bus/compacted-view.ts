/**
 * A compacted topic folded into memory: the mechanics that every node-local view of such a topic
 * shares (the directory view, shared/directory/view.ts; the suppression view,
 * shared/suppression/view.ts). What a record means is the view's `fold`; this file only moves the
 * records and answers "has the view caught up?".
 *
 * Start (`ready()`): create the topic if missing, replay it up to its end, then follow it through a
 * consumer group unique to this view (`<groupPrefix>.<random UUID>`) that never commits, so every
 * start reads the topic whole. Records at or below the offset already applied per partition are
 * skipped, so the follow-up subscription (which starts from the beginning again) never moves a key
 * back in time: `fold` sees each offset at most once, in order per partition.
 *
 * Read barrier: `endOffsets()` reads the topic's end offsets (Kafka ListOffsets; a memory read on
 * the embedded log), and `waitUntilReached(ends)` resolves once every record below them has been
 * folded. `sync()` puts both together under one timeout: true once every record published — by any
 * node — before the call has been folded, false after the timeout or on an error.
 */
import { randomUUID } from "node:crypto";
import type { Bus, BusRecord, Subscription, TopicSpec } from "./types.ts";

export interface CompactedTopicViewOptions {
  bus: Bus;
  /** The compacted topic, created by `ready()` when missing. */
  topic: TopicSpec;
  /** The consumer group's name before its random suffix, e.g. `directory-view.<nodeId>`. */
  groupPrefix: string;
  /** Applies one record to the view: called at most once per offset, in order per partition. */
  fold(record: BusRecord): void;
  onError?(error: unknown): void;
}

export class CompactedTopicView {
  /** The highest offset folded, per partition. */
  private readonly applied = new Map<number, number>();
  /** Called after each record folded: the pending `waitUntilReached` checks. */
  private readonly waiters = new Set<() => void>();
  private sub: Subscription | undefined;
  private starting: Promise<void> | undefined;
  /** The end-offset request in flight, and the one that callers arriving during it wait for. */
  private endsInFlight: Promise<number[]> | undefined;
  private endsNext: Promise<number[]> | undefined;
  private closed = false;

  constructor(private readonly o: CompactedTopicViewOptions) {}

  /** Resolves once the topic has been read up to its end as of the start. Starts the view. */
  ready(): Promise<void> {
    this.starting ??= this.start();
    return this.starting;
  }

  /**
   * Read barrier: resolves true once every record published before the call has been folded, false
   * after `timeoutMs` (start and end-offset request included) or when either fails (the error goes
   * to `onError`). Cost: one end-offset request, shared by concurrent callers.
   */
  async sync(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      (timer as { unref?: () => void }).unref?.();
    });
    const started = Date.now();
    try {
      const ends = await Promise.race([this.ready().then(() => this.endOffsets()), late]);
      if (!ends) return false;
      return await this.waitUntilReached(ends, Math.max(0, timeoutMs - (Date.now() - started)));
    } catch (e) {
      this.o.onError?.(e);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The topic's end offsets (one per partition), fetched at or after the call: a request already
   * in flight may have been answered before a change this caller must see, so a caller arriving
   * during one waits for the next, which every caller arriving meanwhile shares.
   */
  endOffsets(): Promise<number[]> {
    if (!this.endsInFlight) {
      const p = this.o.bus.endOffsets(this.o.topic.name);
      this.endsInFlight = p;
      const done = () => {
        if (this.endsInFlight === p) this.endsInFlight = undefined;
      };
      p.then(done, done);
      return p;
    }
    this.endsNext ??= this.endsInFlight
      .catch(() => undefined)
      .then(() => {
        this.endsNext = undefined;
        return this.endOffsets();
      });
    return this.endsNext;
  }

  /** Has every record below `ends` (one end per partition) been folded? */
  reached(ends: number[]): boolean {
    return ends.every((end, p) => end === 0 || (this.applied.get(p) ?? -1) >= end - 1);
  }

  /** Resolves true as soon as `reached(ends)`, else `reached(ends)` after `timeoutMs`. */
  waitUntilReached(ends: number[], timeoutMs: number): Promise<boolean> {
    if (this.reached(ends)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (this.reached(ends)) done(true);
      };
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => done(this.reached(ends)), timeoutMs);
      timer.unref?.();
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await this.sub?.close();
    this.sub = undefined;
  }

  private async start(): Promise<void> {
    const { bus, topic } = this.o;
    await bus.ensureTopics([topic]);
    const count = await bus.partitionCount(topic.name);
    const partitions = Array.from({ length: count }, (_, i) => i);
    await bus.replay(topic.name, partitions, (r) => this.apply(r));
    if (this.closed) return;
    this.sub = await bus.subscribe({
      group: `${this.o.groupPrefix}.${randomUUID()}`,
      topics: [topic.name],
      fromBeginning: true,
      autoCommit: false,
      handler: async (r) => this.apply(r),
      onError: (e) => this.o.onError?.(e),
    });
  }

  private apply(r: BusRecord): void {
    if (r.offset <= (this.applied.get(r.partition) ?? -1)) return;
    this.applied.set(r.partition, r.offset);
    this.o.fold(r);
    for (const check of this.waiters) check();
  }
}
