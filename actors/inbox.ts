/**
 * Pipelined inbox delivery with an exact commit point. The bus hands an actor host one record at
 * a time per partition; waiting for each record's turn to be durable before taking the next
 * would make every actor of the partition pay two durable writes per message, one after the
 * other. Instead the host posts the record to its actor's mailbox and takes the next one at once
 * (up to `limit` records per partition not yet durable), so a mailbox gathers many messages into
 * one turn. The group's offset is committed only up to the first record whose turn is not yet
 * durable (the watermark): a crash loses nothing, and a record redelivered after it is skipped
 * by the restored state's own offset.
 */
import type { TopicPartition } from "../shared/bus/types.ts";

/** The records of one partition in flight between the bus and durable actor state. */
export class InboxProgress {
  /** Offsets posted, in order; `head` is the first not yet durable. */
  private readonly order: number[] = [];
  private head = 0;
  private readonly done = new Set<number>();
  private readonly waiters: (() => void)[] = [];
  /** Set when a turn failed: nothing past it is ever committed, the partition stops. */
  failed: unknown;

  constructor(private readonly limit: number) {}

  get inflight(): number {
    return this.order.length - this.head;
  }

  /** Resolves once fewer than `limit` records are in flight. */
  async room(): Promise<void> {
    while (this.inflight >= this.limit && this.failed === undefined) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  add(offset: number): void {
    this.order.push(offset);
  }

  /** A record's turn is durable; returns the new next-offset to commit when the watermark moved. */
  complete(offset: number): number | undefined {
    this.done.add(offset);
    let moved: number | undefined;
    while (this.head < this.order.length && this.done.has(this.order[this.head] as number)) {
      const o = this.order[this.head] as number;
      this.done.delete(o);
      this.head++;
      moved = o + 1;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
    if (moved !== undefined) for (const w of this.waiters.splice(0)) w();
    return moved;
  }

  fail(error: unknown): void {
    this.failed ??= error;
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * Commits watermarks for a subscription, one offsets write at a time: while one is in flight,
 * later watermarks gather into the next (per partition, only the highest is written).
 */
export class WatermarkCommitter {
  private readonly dirty = new Map<string, TopicPartition & { offset: number }>();
  private chain: Promise<void> = Promise.resolve();
  private queued = false;

  constructor(
    private readonly commit: (tp: TopicPartition, offset: number) => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}

  note(tp: TopicPartition, offset: number): void {
    this.dirty.set(`${tp.topic}/${tp.partition}`, { ...tp, offset });
    if (this.queued) return;
    this.queued = true;
    this.chain = this.chain
      .then(async () => {
        this.queued = false;
        const entries = [...this.dirty.values()];
        this.dirty.clear();
        // All at once: the embedded log writes them in one offsets write (its group commit).
        await Promise.all(
          entries.map((e) => this.commit({ topic: e.topic, partition: e.partition }, e.offset)),
        );
      })
      .catch((e) => this.onError(e));
  }

  /** Waits until every watermark noted so far is written. */
  flush(): Promise<void> {
    return this.chain;
  }
}
