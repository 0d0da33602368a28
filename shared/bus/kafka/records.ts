/** Conversions between kafkajs messages and bus records. */
import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import type { BusRecord, Headers, OutRecord } from "../types.ts";

/** A map key for a topic-partition (topic names cannot contain "/"). */
export function tpKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export function toMessage(record: OutRecord, partition: number): Message {
  return {
    key: record.key,
    // An empty value is a tombstone: Kafka compaction only forgets keys whose value is null.
    // A copy: the record is sent later (requests are batched) and the caller may reuse its array.
    value: record.value.length === 0 ? null : Buffer.from(record.value),
    partition,
    ...(record.headers ? { headers: { ...record.headers } } : {}),
  };
}

function headerText(v: IHeaders[string]): string | undefined {
  if (v === undefined) return undefined;
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  return one === undefined ? undefined : one.toString();
}

export function toBusRecord(topic: string, partition: number, m: KafkaMessage): BusRecord {
  const headers: Headers = {};
  if (m.headers) {
    for (const [k, v] of Object.entries(m.headers)) {
      const text = headerText(v);
      if (text !== undefined) headers[k] = text;
    }
  }
  return {
    topic,
    partition,
    offset: Number(m.offset),
    key: m.key ? m.key.toString("utf8") : "",
    // A copy: a view would keep the whole fetch response alive.
    value: m.value ? new Uint8Array(m.value) : new Uint8Array(0),
    headers,
    timestamp: Number(m.timestamp),
  };
}

/** Rough size of a record in a produce request, to keep requests under the broker's limit. */
export function messageSize(record: OutRecord): number {
  let n = 64 + record.key.length * 3 + record.value.length;
  for (const [k, v] of Object.entries(record.headers ?? {})) n += 8 + (k.length + v.length) * 3;
  return n;
}
