/**
 * One member of an in-process consumer group (the `Subscription` handed to the caller): one
 * delivery loop per assigned partition (serial within a partition, partitions in parallel),
 * batched auto-commit, and the revoke/assign steps the group coordinator drives.
 */
import type { BusRecord, SubscribeOptions, Subscription, TopicPartition } from "../types.ts";
import type { OffsetEntry, OffsetStore } from "./offsets.ts";
import type { PartitionLog } from "./partition-log.ts";

/** What a member needs from the bus. */
export interface MemberHost {
  log(topic: string, partition: number): PartitionLog;
  partitionCount(topic: string): number;
  readonly offsets: OffsetStore;
}

export const tpKey = (topic: string, partition: number) => `${partition}:${topic}`;

const READ_BYTES = 256 * 1024;

/** Delivers one partition to one member, from `position`, until stopped or the handler fails. */
class PartitionConsumer {
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly member: Member,
    readonly tp: TopicPartition,
    private readonly log: PartitionLog,
    private position: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    const { handler } = this.member.options;
    // No handler runs before `subscribe` has returned the subscription (handlers commit through
    // it): the first read may be answered from memory (tail.ts) without any I/O to wait for.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (!signal.aborted && !this.log.isClosed) {
      let batch: { records: BusRecord[]; next: number };
      try {
        batch = await this.log.read(this.position, READ_BYTES);
      } catch (e) {
        this.member.reportError(e, undefined);
        return;
      }
      if (batch.records.length === 0) {
        this.position = batch.next;
        await this.log.waitFor(this.position, signal);
        continue;
      }
      for (const record of batch.records) {
        if (signal.aborted) return;
        try {
          await handler(record);
        } catch (e) {
          // Stop this partition for this member; nothing past the failed record is committed.
          this.member.reportError(e, record);
          return;
        }
        this.position = record.offset + 1;
        this.member.processed(this.tp, this.position);
      }
      this.position = batch.next;
    }
  }

  /** Stops delivering and waits for the in-flight handler, if any. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}

export class Member implements Subscription {
  private readonly owned = new Map<string, PartitionConsumer>();
  /** Partitions being revoked: still committable until onRevoke has returned. */
  private readonly revoking = new Set<string>();
  private readonly dirty = new Map<string, OffsetEntry>();
  private commitChain: Promise<void> = Promise.resolve();
  private commitQueued = false;
  private closing: Promise<void> | undefined;
  closed = false;

  constructor(
    readonly id: number,
    readonly options: SubscribeOptions,
    private readonly host: MemberHost,
    private readonly leave: (member: Member) => Promise<void>,
  ) {}

  get autoCommit(): boolean {
    return this.options.autoCommit ?? true;
  }

  assignment(): TopicPartition[] {
    return [...this.owned.values()].map((c) => ({ ...c.tp }));
  }

  ownedKeys(): string[] {
    return [...this.owned.keys()];
  }

  owns(key: string): boolean {
    return this.owned.has(key);
  }

  async commit(tp: TopicPartition, offset: number): Promise<void> {
    const key = tpKey(tp.topic, tp.partition);
    if (!this.owned.has(key) && !this.revoking.has(key)) {
      throw new Error(
        `cannot commit ${tp.topic}/${tp.partition}: not assigned to this member of ${this.options.group}`,
      );
    }
    await this.host.offsets.commit(this.options.group, [
      { topic: tp.topic, partition: tp.partition, offset },
    ]);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.leave(this);
      await this.commitChain;
      this.closed = true;
    })();
    return this.closing;
  }

  reportError(error: unknown, record: BusRecord | undefined): void {
    try {
      this.options.onError?.(error, record);
    } catch {
      // an onError that throws has nowhere else to report to
    }
  }

  /** A record was handled: with autoCommit, commit the offset after it (batched). */
  processed(tp: TopicPartition, next: number): void {
    if (!this.autoCommit) return;
    this.dirty.set(tpKey(tp.topic, tp.partition), { topic: tp.topic, partition: tp.partition, offset: next });
    this.queueCommit();
  }

  private queueCommit(): void {
    if (this.commitQueued) return;
    this.commitQueued = true;
    // Chained: while one offsets write is in flight, later records gather into the next one.
    this.commitChain = this.commitChain
      .then(() => {
        this.commitQueued = false;
        const entries = [...this.dirty.values()];
        this.dirty.clear();
        return this.host.offsets.commit(this.options.group, entries);
      })
      .catch((e) => this.reportError(e, undefined));
  }

  /** Commits every processed offset not yet committed, and waits for it to be durable. */
  private async flushCommits(): Promise<void> {
    this.queueCommit();
    await this.commitChain;
  }

  /** Rebalance step 1: stop the partitions, wait for their handlers, commit, call onRevoke. */
  async revoke(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const consumers = keys.map((k) => this.owned.get(k)!);
    for (const k of keys) {
      this.revoking.add(k);
      this.owned.delete(k);
    }
    await Promise.all(consumers.map((c) => c.stop()));
    if (this.autoCommit) await this.flushCommits();
    try {
      await this.options.onRevoke?.(consumers.map((c) => ({ ...c.tp })));
    } catch (e) {
      this.reportError(e, undefined);
    }
    for (const k of keys) this.revoking.delete(k);
  }

  /** Rebalance step 2: find start offsets, call onAssign, then start delivering. */
  async assign(tps: TopicPartition[]): Promise<void> {
    if (tps.length === 0) return;
    const { group, fromBeginning } = this.options;
    const resets: OffsetEntry[] = [];
    const consumers = tps.map((tp) => {
      const log = this.host.log(tp.topic, tp.partition);
      let start = this.host.offsets.get(group, tp.topic, tp.partition);
      if (start === undefined) {
        if (fromBeginning) start = log.startOffset();
        else {
          // Commit the reset position so that records appended from now on are not skipped if
          // the partition moves to another member before anything else is committed.
          start = log.durableNext;
          resets.push({ ...tp, offset: start });
        }
      }
      return new PartitionConsumer(this, { ...tp }, log, start);
    });
    if (resets.length > 0) await this.host.offsets.commit(group, resets);
    for (const c of consumers) this.owned.set(tpKey(c.tp.topic, c.tp.partition), c);
    try {
      await this.options.onAssign?.(tps.map((tp) => ({ ...tp })));
    } catch (e) {
      this.reportError(e, undefined);
    }
    for (const c of consumers) c.start();
  }
}
