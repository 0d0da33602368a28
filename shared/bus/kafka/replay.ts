/**
 * Bus.replay on Kafka. kafkajs cannot assign partitions by hand, so a throw-away consumer group
 * with a single member and an assigner that hands it exactly the wanted partitions reads them
 * from the oldest retained record up to the high watermarks taken at the start, then leaves and
 * the group is deleted.
 *
 * Known limit: a partition whose last offsets below the watermark were all removed by compaction
 * (a trailing gap, e.g. an expired tombstone at the very end) would never report reaching the
 * end; Kafka keeps the last batch of each producer, so this needs an idle producer id to expire.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type Admin, AssignerProtocol, type Kafka, type PartitionAssigner } from "kafkajs";
import type { BusRecord } from "../types.ts";
import { toBusRecord } from "./records.ts";

export interface ReplaySettings {
  maxWaitTimeMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

const PROTOCOL = "PetrelReplay";

/** Gives the first member the wanted partitions of `topic`, and nothing to anyone else. */
function fixedAssigner(topic: string, partitions: number[]): PartitionAssigner {
  return () => ({
    name: PROTOCOL,
    version: 0,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: i === 0 ? { [topic]: partitions } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: PROTOCOL,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}

/** Runs an admin call (KafkaBus serializes them: see `withAdmin` there). */
export type UseAdmin = <T>(use: (admin: Admin) => Promise<T>) => Promise<T>;

/**
 * The topic's offsets. kafkajs' fetchTopicOffsets retries only UNKNOWN_TOPIC_OR_PARTITION; a
 * partition created a moment ago may still answer NOT_LEADER_OR_FOLLOWER (its broker has not
 * taken up leadership yet), which is retriable: try again for a few seconds.
 */
async function topicOffsets(admin: UseAdmin, topic: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin((a) => a.fetchTopicOffsets(topic));
    } catch (e) {
      if (!(e as { retriable?: unknown }).retriable || attempt >= 30) throw e;
      await sleep(Math.min(1000, 50 * attempt));
    }
  }
}

export async function replay(
  kafka: Kafka,
  admin: UseAdmin,
  topic: string,
  partitions: number[],
  onRecord: (record: BusRecord) => void,
  settings: ReplaySettings,
): Promise<void> {
  const wanted = [...new Set(partitions)];
  if (wanted.length === 0) return;
  const offsets = await topicOffsets(admin, topic);
  /** partition → high watermark as of now, for the partitions that hold records. */
  const ends = new Map<number, number>();
  for (const p of wanted) {
    const o = offsets.find((x) => x.partition === p);
    if (!o) throw new RangeError(`topic ${topic} has no partition ${p}`);
    if (Number(o.high) > Number(o.low)) ends.set(p, Number(o.high));
  }
  if (ends.size === 0) return;

  const groupId = `petrel-replay-${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    partitionAssigners: [fixedAssigner(topic, [...ends.keys()])],
    maxWaitTimeInMs: settings.maxWaitTimeMs,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
    allowAutoTopicCreation: false,
  });
  const remaining = new Set(ends.keys());
  let finish!: (error?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error?: unknown) => (error === undefined ? resolve() : reject(error));
  });
  finished.catch(() => {}); // awaited below; this only keeps an early failure from counting as unhandled
  let failed = false;
  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    try {
      consumer.pause([{ topic }]);
    } catch {
      // the consumer crashed: nothing is fetched anymore anyway
    }
    finish(error);
  };
  const offCrash = consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error);
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: ends.size,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition);
        if (failed || end === undefined || !remaining.has(batch.partition)) return;
        try {
          for (const m of batch.messages) {
            if (Number(m.offset) >= end) break;
            onRecord(toBusRecord(topic, batch.partition, m));
          }
        } catch (e) {
          fail(e);
          return;
        }
        if (Number(batch.lastOffset()) >= end - 1) {
          remaining.delete(batch.partition);
          consumer.pause([{ topic, partitions: [batch.partition] }]);
          if (remaining.size === 0) finish();
        }
      },
    });
    await finished;
  } finally {
    offCrash();
    await consumer.disconnect().catch(() => {});
    await admin((a) => a.deleteGroups([groupId])).catch(() => {});
  }
}
