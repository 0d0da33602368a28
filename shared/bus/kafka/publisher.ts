/**
 * The producer side: one idempotent kafkajs producer (acks = all, one request in flight), fed
 * through a queue. Calls that arrive while a request is in flight are sent together in the next
 * request, so concurrent publishers share round trips while the records still reach each
 * partition in call order. A call larger than one request is split over several requests.
 */
import type { Message, Producer } from "kafkajs";
import type { PublishResult } from "../types.ts";
import { tpKey } from "./records.ts";

/** Stays under the broker's default message.max.bytes (1 MiB per record batch). */
const MAX_REQUEST_BYTES = 900 * 1024;

interface Call {
  topic: string;
  messages: Message[];
  results: PublishResult[];
  remaining: number;
  failed: boolean;
  resolve(results: PublishResult[]): void;
  reject(error: unknown): void;
}

interface Entry {
  call: Call;
  index: number;
  size: number;
}

export class Publisher {
  private readonly queue: Entry[] = [];
  private draining: Promise<void> | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly connect: () => Promise<void>,
  ) {}

  /** `messages` carry their partition; `sizes` their estimated encoded size. */
  publish(topic: string, messages: Message[], sizes: number[]): Promise<PublishResult[]> {
    if (messages.length === 0) return Promise.resolve([]);
    return new Promise<PublishResult[]>((resolve, reject) => {
      const call: Call = {
        topic,
        messages,
        results: new Array<PublishResult>(messages.length),
        remaining: messages.length,
        failed: false,
        resolve,
        reject,
      };
      messages.forEach((_, index) => {
        this.queue.push({ call, index, size: sizes[index] ?? 0 });
      });
      this.draining ??= this.drain().finally(() => {
        this.draining = undefined;
      });
    });
  }

  /** Resolves once everything queued so far has been sent (or has failed). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      await this.connect();
    } catch (e) {
      for (const entry of this.queue.splice(0)) this.fail(entry.call, e);
      return;
    }
    while (this.queue.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.size <= MAX_REQUEST_BYTES)) {
        bytes += this.queue[n]!.size;
        n++;
      }
      const flight = this.queue.splice(0, n).filter((e) => !e.call.failed);
      if (flight.length === 0) continue;
      try {
        await this.send(flight);
      } catch (e) {
        for (const entry of flight) this.fail(entry.call, e);
      }
    }
  }

  private async send(flight: Entry[]): Promise<void> {
    const perTopic = new Map<string, Message[]>();
    for (const { call, index } of flight) {
      const list = perTopic.get(call.topic) ?? [];
      list.push(call.messages[index]!);
      perTopic.set(call.topic, list);
    }
    const metadata = await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...perTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    // kafkajs returns the base offset of each partition's batch; records follow in send order.
    const next = new Map<string, number>();
    for (const m of metadata) {
      if (m.baseOffset !== undefined) next.set(tpKey(m.topicName, m.partition), Number(m.baseOffset));
    }
    for (const { call, index } of flight) {
      const partition = call.messages[index]!.partition!;
      const key = tpKey(call.topic, partition);
      const offset = next.get(key);
      if (offset === undefined) throw new Error(`no produce result for ${key}`);
      next.set(key, offset + 1);
      call.results[index] = { topic: call.topic, partition, offset };
    }
    for (const { call } of flight) {
      if (call.failed) continue;
      call.remaining--;
      if (call.remaining === 0) call.resolve(call.results);
    }
  }

  private fail(call: Call, error: unknown): void {
    if (call.failed) return;
    call.failed = true;
    call.reject(error);
  }
}
