/**
 * KafkaBus: the Bus on Apache Kafka through kafkajs.
 *
 * - publish: one idempotent producer (acks = all, one request in flight); each record goes to
 *   `partitionFor(key, partitionCount)` as an explicit partition (see publisher.ts).
 * - subscribe: one kafkajs consumer per subscription, offsets committed by us (subscription.ts).
 * - replay: a throw-away single-member group (replay.ts).
 * - admin: one kafkajs admin, used by one call at a time (see `withAdmin`).
 * Topics are created with `message.timestamp.type=LogAppendTime`, so a record's timestamp is the
 * broker's append time, and a compacted spec gets `cleanup.policy=compact`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type Admin, type ICustomPartitioner, Kafka, logLevel, type Producer } from "kafkajs";
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
import { quietLogCreator } from "./log.ts";
import { Publisher } from "./publisher.ts";
import { messageSize, toMessage } from "./records.ts";
import { replay } from "./replay.ts";
import { type ConsumerSettings, KafkaSubscription } from "./subscription.ts";

export type KafkaBusLogLevel = "nothing" | "error" | "warn" | "info" | "debug";

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs' own log (JSON lines on the console; routine retried protocol errors left out). Default "error". */
  logLevel?: KafkaBusLogLevel;
  /** Consumer-group session timeout. Default 10 000 ms (the broker's group.min.session.timeout.ms bounds it). */
  sessionTimeoutMs?: number;
  /** Default: a third of the session timeout, at most 1 000 ms. */
  heartbeatIntervalMs?: number;
  /** For created topics. Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  /** How long a rebalance waits for members to rejoin. Default 30 000 ms. */
  rebalanceTimeoutMs?: number;
  /** Fetch long-poll; also the cadence at which an idle member notices a rebalance. Default 250 ms. */
  maxWaitTimeMs?: number;
  /** Upper bound for Subscription.close(). Default 30 000 ms. */
  closeTimeoutMs?: number;
}

/** How long ensureTopics waits for topics whose creation reported an error to be listed. */
const TOPIC_VISIBLE_MS = 10_000;

const LOG_LEVELS: Record<KafkaBusLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** Partitions are always chosen by KafkaBus.publish; this only honours them. */
const explicitPartitioner: ICustomPartitioner =
  () =>
  ({ message, partitionMetadata }) =>
    message.partition ?? partitionFor(String(message.key ?? ""), partitionMetadata.length);

export class KafkaBus implements Bus {
  readonly kind = "kafka" as const;
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly publisher: Publisher;
  private readonly settings: Omit<ConsumerSettings, "concurrency">;
  private readonly replicationFactor: number;
  private adminReady: Promise<void> | undefined;
  /** The admin call in progress (and those queued behind it); never rejects. */
  private adminTurn: Promise<unknown> = Promise.resolve();
  private producerReady: Promise<void> | undefined;
  private readonly counts = new Map<string, Promise<number>>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private closing: Promise<void> | undefined;

  constructor(options: KafkaBusOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: LOG_LEVELS[options.logLevel ?? "error"],
      logCreator: quietLogCreator,
      retry: { initialRetryTime: 100, maxRetryTime: 5000, retries: 8 },
    });
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    this.settings = {
      sessionTimeoutMs,
      heartbeatIntervalMs:
        options.heartbeatIntervalMs ?? Math.max(100, Math.min(1000, Math.floor(sessionTimeoutMs / 3))),
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? Math.max(30_000, sessionTimeoutMs),
      maxWaitTimeMs: options.maxWaitTimeMs ?? 250,
      closeTimeoutMs: options.closeTimeoutMs ?? 30_000,
    };
    this.replicationFactor = options.replicationFactor ?? -1;
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: explicitPartitioner,
    });
    this.publisher = new Publisher(this.producer, () => {
      this.producerReady ??= this.once(
        () => this.producer.connect(),
        () => (this.producerReady = undefined),
      );
      return this.producerReady;
    });
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const byName = new Map<string, TopicSpec>();
    for (const s of specs) {
      if (!Number.isInteger(s.partitions) || s.partitions < 1) {
        throw new RangeError(`topic ${s.name}: partition count must be >= 1, got ${s.partitions}`);
      }
      if (!byName.has(s.name)) byName.set(s.name, s);
    }
    await this.withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      const missing = [...byName.values()].filter((s) => !existing.has(s.name));
      if (missing.length === 0) return;
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: this.replicationFactor,
            configEntries: [
              { name: "message.timestamp.type", value: "LogAppendTime" },
              ...(s.compacted ? [{ name: "cleanup.policy", value: "compact" }] : []),
            ],
          })),
        });
      } catch (e) {
        // Another process may have created some of them meanwhile (one of ours then fails as
        // existing), or the broker created them but does not serve their metadata yet (kafkajs'
        // waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION; seen when two relays start at
        // once): fine once they are all listed.
        const deadline = Date.now() + TOPIC_VISIBLE_MS;
        for (;;) {
          const now = new Set(await admin.listTopics());
          if (missing.every((s) => now.has(s.name))) break;
          if (Date.now() > deadline) throw e;
          await sleep(100);
        }
      }
    });
  }

  partitionCount(topic: string): Promise<number> {
    let count = this.counts.get(topic);
    if (!count) {
      count = this.fetchPartitionCount(topic);
      this.counts.set(topic, count);
      count.catch(() => this.counts.delete(topic));
    }
    return count;
  }

  private async fetchPartitionCount(topic: string): Promise<number> {
    const { topics } = await this.withAdmin((admin) =>
      admin.fetchTopicMetadata({ topics: [topic] }).catch((e: unknown) => {
        const unknown = (e as { type?: unknown }).type === "UNKNOWN_TOPIC_OR_PARTITION";
        throw unknown ? new Error(`topic ${topic} does not exist`, { cause: e }) : e;
      }),
    );
    const n = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    if (n < 1) throw new Error(`topic ${topic} does not exist`);
    return n;
  }

  async publish(topic: string, records: OutRecord[]): Promise<PublishResult[]> {
    if (this.closing) throw new Error("KafkaBus is closed");
    if (records.length === 0) return [];
    const n = await this.partitionCount(topic);
    return this.publisher.publish(
      topic,
      records.map((r) => {
        const p = r.partition ?? partitionFor(r.key, n);
        if (!Number.isInteger(p) || p < 0 || p >= n) throw new RangeError(`${topic} has no partition ${p}`);
        return toMessage(r, p);
      }),
      records.map(messageSize),
    );
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closing) throw new Error("KafkaBus is closed");
    const counts = await Promise.all(options.topics.map((t) => this.partitionCount(t)));
    const total = counts.reduce((a, b) => a + b, 0);
    const sub = await KafkaSubscription.open(
      this.kafka,
      options,
      { ...this.settings, concurrency: Math.max(1, Math.min(32, total)) },
      () => this.subscriptions.delete(sub),
    );
    this.subscriptions.add(sub);
    return sub;
  }

  async replay(topic: string, partitions: number[], onRecord: (record: BusRecord) => void): Promise<void> {
    if (this.closing) throw new Error("KafkaBus is closed");
    const count = await this.partitionCount(topic); // fails fast for a missing topic
    const outside = partitions.find((p) => !Number.isInteger(p) || p < 0 || p >= count);
    if (outside !== undefined) throw new RangeError(`topic ${topic} has no partition ${outside}`);
    await replay(this.kafka, (use) => this.withAdmin(use), topic, partitions, onRecord, {
      maxWaitTimeMs: Math.min(100, this.settings.maxWaitTimeMs),
      sessionTimeoutMs: this.settings.sessionTimeoutMs,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
    });
  }

  async endOffsets(topic: string): Promise<number[]> {
    if (this.closing) throw new Error("KafkaBus is closed");
    const admin = await this.connectedAdmin();
    // ListOffsets (latest) answers the high watermark: with acks=all it covers every acknowledged record.
    const offsets = await admin.fetchTopicOffsets(topic);
    const ends: number[] = [];
    for (const o of offsets) ends[o.partition] = Number(o.high);
    return Array.from({ length: ends.length }, (_, p) => ends[p] ?? 0);
  }

  async consumerLag(): Promise<GroupLag[]> {
    if (this.closing) throw new Error("KafkaBus is closed");
    const byGroup = new Map<string, { topics: Set<string>; fromBeginning: boolean }>();
    for (const s of this.subscriptions) {
      const g = byGroup.get(s.group) ?? { topics: new Set<string>(), fromBeginning: false };
      byGroup.set(s.group, g);
      for (const t of s.topics) g.topics.add(t);
      g.fromBeginning ||= s.fromBeginning;
    }
    const out: GroupLag[] = [];
    for (const [group, g] of byGroup) {
      for (const topic of g.topics) {
        const { ends, committed } = await this.withAdmin(async (admin) => ({
          ends: await admin.fetchTopicOffsets(topic),
          committed: await admin.fetchOffsets({ groupId: group, topics: [topic] }),
        }));
        let lag = 0;
        for (const p of committed[0]?.partitions ?? []) {
          const end = ends.find((e) => e.partition === p.partition);
          if (!end) continue;
          // -1: nothing committed yet; the group starts at the oldest record or at the end.
          const at =
            Number(p.offset) >= 0 ? Number(p.offset) : g.fromBeginning ? Number(end.low) : Number(end.high);
          lag += Math.max(0, Number(end.high) - at);
        }
        out.push({ group, topic, lag });
      }
    }
    return out;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const results = await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    await this.publisher.flush();
    results.push(
      ...(await Promise.allSettled([
        this.producerReady ? this.producer.disconnect() : undefined,
        this.adminReady ? this.admin.disconnect() : undefined,
      ])),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failure) throw failure.reason;
  }

  /**
   * Runs `use` with the connected admin once every earlier admin call has finished. kafkajs'
   * admin keeps one topic-metadata cache that its calls read and replace without coordination:
   * `fetchTopicMetadata` of topic Y replaces the cache with Y alone, so a `fetchTopicOffsets` of
   * topic X running at the same time finds X gone between its two ListOffsets requests and fails
   * with `TypeError: Cannot destructure property 'partitions' of 'low.pop(...)'` (a replay, so an
   * actor host's restore, failed that way whenever a publish to a new topic overlapped it).
   */
  private withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
    const run = this.adminTurn.then(async () => use(await this.connectedAdmin()));
    this.adminTurn = run.catch(() => {});
    return run;
  }

  private connectedAdmin(): Promise<Admin> {
    this.adminReady ??= this.once(
      () => this.admin.connect(),
      () => (this.adminReady = undefined),
    );
    return this.adminReady.then(() => this.admin);
  }

  /** Runs `connect`; on failure `reset` lets the next call try again. */
  private once(connect: () => Promise<void>, reset: () => void): Promise<void> {
    const p = connect();
    p.catch(reset);
    return p;
  }
}
