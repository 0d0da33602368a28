/**
 * One consumer-group member: a kafkajs consumer whose offsets this class commits itself.
 *
 * - Delivery: `eachBatch`, one batch per partition at a time, several partitions at once. A
 *   batch is handed to the handler record by record; the offset after the last processed record
 *   is committed when the batch ends (autoCommit), which is before kafkajs can rejoin the group
 *   (it rejoins only once every batch of the round has finished) and before close() leaves it.
 * - Assignment: kafkajs has no rebalance listener, so onAssign/onRevoke are derived from the
 *   GROUP_JOIN event (emitted synchronously after SyncGroup, before the first fetch) by diffing
 *   the new assignment against the previous one. A partition's first batch waits for its
 *   onAssign. Caveat: with kafkajs a revoked partition may already be read by its new owner
 *   while the old owner's onRevoke runs (except on close(), where onRevoke runs before leaving).
 * - holdUntilCommitted: a batch does not end (so kafkajs does not rejoin, and the group cannot hand
 *   its partition on) before commit() has covered its last record. Rejoining is the only point
 *   where a kafkajs member can still fence its partitions: the coordinator completes an eager
 *   rebalance only once every member has rejoined (or overrun the rebalance timeout), and a commit
 *   with the current generation is accepted while the group waits. The hold ends early when the
 *   subscription closes, the partition failed, or a heartbeat says the group has moved on without
 *   this member (then nothing is fenced any more).
 * - A failing handler pauses its partition (no more deliveries, nothing committed past the
 *   failed record) until the partition is revoked.
 */
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { BusRecord, SubscribeOptions, Subscription, TopicPartition } from "../types.ts";
import { toBusRecord, tpKey } from "./records.ts";

export interface ConsumerSettings {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  maxWaitTimeMs: number;
  closeTimeoutMs: number;
  /** Batches (partitions) handled at once. */
  concurrency: number;
}

type Offsets = NonNullable<Parameters<EachBatchPayload["commitOffsetsIfNecessary"]>[0]>;

/** What the heartbeats of a running batch reported; `gone`: the group went on without this member. */
interface Beat {
  error?: unknown;
  gone?: boolean;
}

/** Heartbeat errors after which this member's generation is over (kafkajs error `type`s). */
const GONE = new Set(["ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID"]);

export class KafkaSubscription implements Subscription {
  private readonly consumer: Consumer;
  private readonly autoCommit: boolean;
  /** The group and topics it reads (KafkaBus.consumerLag). */
  readonly group: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  /** What the group gave this member at the last join. */
  private current = new Map<string, TopicPartition>();
  /** Partitions whose onAssign was called and whose onRevoke was not (yet). */
  private readonly announced = new Map<string, TopicPartition>();
  /** Per partition: resolves once its onAssign has run. */
  private readonly gates = new Map<string, Promise<void>>();
  /** Per partition: the batch being handled. */
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly failed = new Set<string>();
  /** Per partition: the highest offset committed through commit() (holdUntilCommitted). */
  private readonly committed = new Map<string, number>();
  /** Batches waiting in holdUntilCommitted: woken on each commit, failure, heartbeat error, close. */
  private readonly holding = new Set<() => void>();
  /** onRevoke/onAssign calls, in order. Never rejects. */
  private transition: Promise<void> = Promise.resolve();
  private closing = false;
  private started = false;
  private closed: Promise<void> | undefined;
  private startError: unknown;
  private batchCommit: ((offsets: Offsets) => Promise<void>) | undefined;
  private readonly unlisten: (() => void)[] = [];

  private constructor(
    kafka: Kafka,
    private readonly options: SubscribeOptions,
    private readonly settings: ConsumerSettings,
    private readonly onClosed: () => void,
  ) {
    this.autoCommit = options.autoCommit ?? true;
    this.group = options.group;
    this.topics = options.topics;
    this.fromBeginning = options.fromBeginning ?? false;
    this.consumer = kafka.consumer({
      groupId: options.group,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: settings.rebalanceTimeoutMs,
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
  }

  static async open(
    kafka: Kafka,
    options: SubscribeOptions,
    settings: ConsumerSettings,
    onClosed: () => void = () => {},
  ): Promise<KafkaSubscription> {
    const sub = new KafkaSubscription(kafka, options, settings, onClosed);
    await sub.start();
    return sub;
  }

  private async start(): Promise<void> {
    const c = this.consumer;
    this.unlisten.push(
      c.on(c.events.GROUP_JOIN, (e) => this.onJoin(e.payload.memberAssignment)),
      // Emitted synchronously just before kafkajs rejoins: the fence for work outside the handler.
      c.on(c.events.REBALANCING, () => this.options.onRebalanceStart?.()),
      c.on(c.events.CRASH, (e) => this.onCrash(e.payload.error)),
    );
    try {
      await c.connect();
      await c.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? false });
      // Resolves once the first join (and so the first GROUP_JOIN) is done.
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.settings.concurrency,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      if (this.startError !== undefined) throw this.startError;
      this.started = true;
    } catch (e) {
      this.closing = true;
      for (const off of this.unlisten.splice(0)) off();
      await c.disconnect().catch(() => {});
      throw e;
    }
  }

  assignment(): TopicPartition[] {
    return [...this.current.values()];
  }

  async commit(tp: TopicPartition, offset: number): Promise<void> {
    const partitions = [{ partition: tp.partition, offset: String(offset) }];
    // While closing, kafkajs' consumer.commitOffsets silently does nothing: use the group directly.
    if (this.closing && this.batchCommit)
      await this.batchCommit({ topics: [{ topic: tp.topic, partitions }] });
    else await this.consumer.commitOffsets([{ topic: tp.topic, ...partitions[0]! }]);
    const key = tpKey(tp.topic, tp.partition);
    if (offset > (this.committed.get(key) ?? -1)) this.committed.set(key, offset);
    this.wake();
  }

  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  // ------------------------------------------------------------ group membership

  private onJoin(memberAssignment: Record<string, number[]>): void {
    this.applyAssignment(memberAssignment);
    const end = this.options.onRebalanceEnd;
    if (end) void this.enqueue(async () => end());
  }

  private applyAssignment(memberAssignment: Record<string, number[]>): void {
    const next = new Map<string, TopicPartition>();
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) next.set(tpKey(topic, partition), { topic, partition });
    }
    this.current = next;
    const removed = [...this.announced].filter(([k]) => !next.has(k));
    for (const [k] of removed) this.forget(k);
    if (removed.length > 0) {
      this.revoke(removed.map(([, tp]) => tp));
    }
    if (this.closing) return; // close() paused every topic: nothing new is delivered
    const added = [...next].filter(([k]) => !this.announced.has(k));
    if (added.length === 0) return;
    for (const [k, tp] of added) this.announced.set(k, tp);
    const tps = added.map(([, tp]) => tp);
    const step = this.enqueue(async () => {
      if (!this.options.onAssign) return;
      try {
        await this.options.onAssign(tps);
      } catch (e) {
        this.report(e, undefined);
        for (const [k, tp] of added) if (this.announced.has(k)) this.stopPartition(k, tp);
      }
    });
    for (const [k] of added) this.gates.set(k, step);
  }

  /** Queues onRevoke after the in-flight batches of `tps` have finished. */
  private revoke(tps: TopicPartition[]): Promise<void> {
    const busy = tps.map((tp) => this.inflight.get(tpKey(tp.topic, tp.partition)));
    return this.enqueue(async () => {
      await Promise.all(busy);
      if (!this.options.onRevoke) return;
      try {
        await this.options.onRevoke(tps);
      } catch (e) {
        this.report(e, undefined);
      }
    });
  }

  private forget(key: string): void {
    const tp = this.announced.get(key);
    this.announced.delete(key);
    this.gates.delete(key);
    this.committed.delete(key);
    if (tp && this.failed.delete(key) && !this.closing) {
      this.flow("resume", [{ topic: tp.topic, partitions: [tp.partition] }]);
    }
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.transition = this.transition.then(step);
    return this.transition;
  }

  private onCrash(error: Error): void {
    if (this.closing) return;
    if (!this.started) this.startError ??= error;
    this.report(error, undefined);
    // kafkajs left the group; if it restarts, the next GROUP_JOIN announces partitions again.
    const all = [...this.announced.values()];
    for (const k of [...this.announced.keys()]) this.forget(k);
    this.current = new Map();
    if (all.length > 0) void this.revoke(all);
  }

  // ------------------------------------------------------------ delivery

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const key = tpKey(topic, partition);
    this.batchCommit = payload.commitOffsetsIfNecessary;
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.inflight.set(key, done);
    // kafkajs heartbeats only between batches: keep the membership alive during a slow onAssign
    // or handler. A failed heartbeat (a rebalance started, or the member was fenced) ends the
    // batch after the current record; kafkajs then rejoins.
    const beat: Beat = {};
    const timer = setInterval(() => {
      payload.heartbeat().catch((e: unknown) => {
        beat.error ??= e;
        if (GONE.has((e as { type?: string }).type ?? "")) beat.gone = true;
        this.wake();
      });
    }, this.settings.heartbeatIntervalMs);
    try {
      await this.gates.get(key);
      if (beat.error !== undefined) throw beat.error;
      if (this.closing || this.failed.has(key) || !this.announced.has(key)) return;
      const next = await this.deliver(payload, key, beat);
      if (this.autoCommit && next !== undefined) {
        await payload.commitOffsetsIfNecessary({
          topics: [{ topic, partitions: [{ partition, offset: String(next) }] }],
        });
      }
      if (this.options.holdUntilCommitted && next !== undefined) await this.hold(key, next, beat);
      if (beat.error !== undefined) throw beat.error;
    } finally {
      clearInterval(timer);
      if (this.inflight.get(key) === done) this.inflight.delete(key);
      release();
    }
  }

  /** Hands the batch's records to the handler; returns the offset after the last processed one. */
  private async deliver(payload: EachBatchPayload, key: string, beat: Beat): Promise<number | undefined> {
    const { batch } = payload;
    let next: number | undefined;
    for (const message of batch.messages) {
      if (this.closing || this.failed.has(key) || beat.error !== undefined) break;
      if (!payload.isRunning() || payload.isStale()) break;
      const record = toBusRecord(batch.topic, batch.partition, message);
      try {
        await this.options.handler(record);
      } catch (e) {
        this.stopPartition(key, record);
        this.report(e, record);
        break;
      }
      payload.resolveOffset(message.offset);
      next = record.offset + 1;
    }
    return next;
  }

  /** Ends when `next` is committed for `key`, or holding no longer fences anything (see the top). */
  private async hold(key: string, next: number, beat: Beat): Promise<void> {
    while ((this.committed.get(key) ?? -1) < next && !this.closing && !this.failed.has(key) && !beat.gone) {
      await new Promise<void>((resolve) => this.holding.add(resolve));
    }
  }

  private wake(): void {
    const waiting = [...this.holding];
    this.holding.clear();
    for (const resolve of waiting) resolve();
  }

  private stopPartition(key: string, tp: TopicPartition): void {
    this.failed.add(key);
    this.wake();
    this.flow("pause", [{ topic: tp.topic, partitions: [tp.partition] }]);
  }

  /** pause/resume; kafkajs throws when its group is gone (after a crash), which changes nothing. */
  private flow(action: "pause" | "resume", tps: { topic: string; partitions?: number[] }[]): void {
    try {
      this.consumer[action](tps);
    } catch {
      // no running group: nothing is fetched anyway
    }
  }

  private report(error: unknown, record: BusRecord | undefined): void {
    try {
      this.options.onError?.(error, record);
    } catch {
      // an onError that throws must not break delivery
    }
  }

  // ------------------------------------------------------------ close

  private async shutDown(): Promise<void> {
    this.closing = true;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `closing the subscription of group ${this.options.group} took over ${this.settings.closeTimeoutMs} ms`,
            ),
          ),
        this.settings.closeTimeoutMs,
      );
    });
    const work = (async () => {
      // Stop fetching, let the running batches finish (they commit), run onRevoke while the
      // partitions are still ours, then leave the group.
      this.flow(
        "pause",
        this.options.topics.map((topic) => ({ topic })),
      );
      await Promise.all(this.inflight.values());
      const all = [...this.announced.values()];
      for (const k of [...this.announced.keys()]) this.forget(k);
      await (all.length > 0 ? this.revoke(all) : this.transition);
      await this.consumer.disconnect();
    })();
    work.catch(() => {}); // observed by the race below; never unhandled after a timeout
    try {
      await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      this.current = new Map();
      for (const off of this.unlisten.splice(0)) off();
      this.onClosed();
    }
  }
}
