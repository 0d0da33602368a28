/**
 * The bus: topics of keyed records split into partitions, read by consumer groups with
 * committed offsets. At-least-once: a record is handed to a group again until an offset
 * past it is committed. Order holds per partition, so per key (a key always maps to the
 * same partition through `partitionFor`).
 *
 * Two adapters implement it and pass the same conformance suite (tests/bus/bus.case.ts):
 *  - `LogBus` (shared/bus/log/): the embedded durable log on local disk (X1, default);
 *  - `KafkaBus` (shared/bus/kafka/): Apache Kafka through kafkajs (X2).
 */

export type Headers = Record<string, string>;

/** A record as a producer hands it to the bus. */
export interface OutRecord {
  key: string;
  value: Uint8Array;
  headers?: Headers;
  /**
   * An explicit partition, for records that must sit beside another key's (an actor's changelog
   * deltas beside its snapshot). Default: `partitionFor(key, partitionCount)`.
   */
  partition?: number;
}

/** A record as the bus stores and delivers it. Offsets are per partition, from 0, dense or not. */
export interface BusRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: Uint8Array;
  headers: Headers;
  /** Milliseconds since the epoch, set by the bus when the record was appended. */
  timestamp: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /**
   * A changelog topic: only the newest record of each key must be kept. A record whose value is
   * empty (length 0) is a tombstone: the key may be forgotten once the tombstone is compacted.
   */
  compacted?: boolean;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface PublishResult extends TopicPartition {
  offset: number;
}

export interface SubscribeOptions {
  /** Consumer group: the partitions of the topics are divided among the group's live members. */
  group: string;
  topics: string[];
  /** Where a partition starts when the group has no committed offset: true = oldest, false = end. */
  fromBeginning?: boolean;
  /**
   * Called with each record, one at a time per partition, partitions in parallel. When it
   * resolves the record counts as processed; with `autoCommit` (default true) the offset after it
   * is committed (possibly batched, but always before a rebalance hands the partition away and
   * before `close()` resolves). When it throws, the subscription stops delivering that partition,
   * commits nothing past the failed record and reports the error through `onError`.
   */
  handler(record: BusRecord): Promise<void>;
  autoCommit?: boolean;
  /**
   * For records written elsewhere before they are committed (autoCommit false): a partition goes
   * to another member only once this member has committed every record it was delivered from it,
   * or its onRevoke for it has returned — so this member's write and the next owner's write of the
   * same records never overlap. Commit within the rebalance timeout (a flush timer, say): the group
   * waits that long at most. Records delivered while closing need not be committed.
   * The embedded log always behaves so (it awaits onRevoke before handing a partition on); Kafka
   * holds the batch open until it is committed (kafkajs rejoins only after its batches end).
   */
  holdUntilCommitted?: boolean;
  /** Called before any record of newly assigned partitions is delivered. */
  onAssign?(partitions: TopicPartition[]): Promise<void> | void;
  /** Called once in-flight handlers of the revoked partitions have finished. */
  onRevoke?(partitions: TopicPartition[]): Promise<void> | void;
  /**
   * Called synchronously when the group starts to move partitions, before this member gives any
   * up. Work on held partitions that does not come through `handler` (timers) must hold still
   * until `onRebalanceEnd`: with Kafka's eager protocol the new owner may start reading a
   * partition before this member's `onRevoke` has run.
   */
  onRebalanceStart?(): void;
  /** Called after the rebalance's onRevoke/onAssign calls for this member have run. */
  onRebalanceEnd?(): void;
  onError?(error: unknown, record: BusRecord | undefined): void;
}

export interface GroupLag {
  group: string;
  topic: string;
  lag: number;
}

export interface Subscription {
  /** Commits `offset` as the next offset to read in this partition for the group. */
  commit(tp: TopicPartition, offset: number): Promise<void>;
  /** The partitions this member holds now. */
  assignment(): TopicPartition[];
  /** Leaves the group: waits for in-flight handlers, commits (autoCommit), hands partitions over. */
  close(): Promise<void>;
}

export interface Bus {
  readonly kind: "log" | "kafka";
  /** Creates missing topics; an existing topic keeps its partition count. */
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  partitionCount(topic: string): Promise<number>;
  /**
   * Appends records; each goes to its `partition`, else `partitionFor(key, partitionCount)`. Resolves once every
   * record is durable (fsync'd in the log; acknowledged by all in-sync replicas in Kafka), with
   * one result per record in input order. Records of one call with the same key keep their order.
   */
  publish(topic: string, records: OutRecord[]): Promise<PublishResult[]>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /**
   * Reads the given partitions from their oldest retained record up to their end as of the call
   * (records appended later are not read), calling `onRecord` in offset order per partition.
   * Used to restore actor state from a changelog topic. Needs no consumer group.
   */
  replay(topic: string, partitions: number[], onRecord: (record: BusRecord) => void): Promise<void>;
  /**
   * Each partition's end as of the call (index = partition): the offset the next record will get,
   * so every record whose `publish` resolved before the call lies below it (the high watermark in
   * Kafka). A reader that has consumed up to these has seen all of them: a read barrier.
   */
  endOffsets(topic: string): Promise<number[]>;
  /**
   * Per consumer group subscribed through this bus instance and topic: records appended and not
   * yet committed by the group, summed over the topic's partitions (the X4 lag metric).
   */
  consumerLag(): Promise<GroupLag[]>;
  close(): Promise<void>;
}
