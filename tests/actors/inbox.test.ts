/**
 * Pipelined inbox delivery (actors/inbox.ts): the watermark only passes records whose turn is
 * durable, in order; backpressure; a failed turn stops the partition. And on the embedded log:
 * while an actor's snapshot write is held, the group's committed offset stays before its
 * records, and moves past them once the write lands.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../actors/clock.ts";
import { InboxProgress, WatermarkCommitter } from "../../actors/inbox.ts";
import { actorKey } from "../../actors/keys.ts";
import { ActorSystem } from "../../actors/system.ts";
import { hostGroup, inboxTopic } from "../../actors/topics.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { readCommittedOffsets } from "../../shared/bus/log/offsets.ts";
import { partitionFor } from "../../shared/bus/partition.ts";
import type { Bus, OutRecord } from "../../shared/bus/types.ts";
import { waitFor } from "../helpers/wait.ts";
import { type CounterState, counterBehavior } from "./counter.ts";

const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("inbox watermark", () => {
  it("moves only over a prefix of durable records, whatever order they finish in", () => {
    const p = new InboxProgress(10);
    for (const o of [5, 6, 7, 8]) p.add(o);
    expect(p.complete(7)).toBeUndefined();
    expect(p.complete(6)).toBeUndefined();
    expect(p.complete(5)).toBe(8); // 5, 6 and 7 are durable: next to read is 8
    expect(p.inflight).toBe(1);
    expect(p.complete(8)).toBe(9);
    expect(p.inflight).toBe(0);
  });

  it("holds the next record back while `limit` records are in flight", async () => {
    const p = new InboxProgress(2);
    p.add(0);
    p.add(1);
    let roomy = false;
    const waiting = p.room().then(() => {
      roomy = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(roomy).toBe(false);
    p.complete(1); // not the oldest: still two in flight
    await new Promise((r) => setImmediate(r));
    expect(roomy).toBe(false);
    p.complete(0);
    await waiting;
    expect(roomy).toBe(true);
  });

  it("a failed turn releases waiters and keeps the failure", async () => {
    const p = new InboxProgress(1);
    p.add(0);
    const waiting = p.room();
    p.fail(new Error("disk full"));
    await waiting;
    expect((p.failed as Error).message).toBe("disk full");
  });

  it("the committer writes the highest watermark per partition, one write at a time", async () => {
    const writes: string[] = [];
    let release!: () => void;
    const first = new Promise<void>((r) => {
      release = r;
    });
    const c = new WatermarkCommitter(
      async (tp, offset) => {
        writes.push(`${tp.partition}@${offset}`);
        if (writes.length === 1) await first;
      },
      () => {},
    );
    const tp = { topic: "t", partition: 0 };
    c.note(tp, 1);
    await new Promise((r) => setImmediate(r));
    c.note(tp, 2);
    c.note(tp, 3);
    c.note({ topic: "t", partition: 1 }, 9);
    release();
    await c.flush();
    expect(writes).toEqual(["0@1", "0@3", "1@9"]);
  });
});

describe("inbox commits on the embedded log", () => {
  it("commits an inbox record only once the turn that handled it is durable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-inbox-"));
    dirs.push(dir);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const key = actorKey("counter", "held");
    const raw = await LogBus.open({ dir });
    // The actor's snapshot writes wait on the gate: its turns are not durable until it opens.
    const bus = new Proxy(raw, {
      get(target, prop, receiver) {
        if (prop === "publish") {
          return async (topic: string, records: OutRecord[]) => {
            if (topic === "actor.counter.state" && records.some((r) => r.key.startsWith(key))) await gate;
            return target.publish(topic, records);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as Bus;
    const system = new ActorSystem({
      bus,
      nodeId: "local",
      clock: new ManualClock(),
      partitions: 2,
      localAsk: false,
    });
    system.register(counterBehavior());
    await system.start();
    cleanups.push(async () => {
      release();
      await system.stop();
      await raw.close();
    });
    await waitFor(() => system.ownedPartitions("counter").length === 2, { what: "partitions" });
    const partition = partitionFor(key, 2);
    const committed = () => {
      try {
        const all = readCommittedOffsets(dir);
        return all[hostGroup("counter")]?.[inboxTopic("counter")]?.[String(partition)] as number | undefined;
      } catch {
        return undefined;
      }
    };
    for (let n = 0; n < 5; n++) await system.tell(key, { t: "add", n });
    // Every record reached the actor (pipelined), none of its turns is durable: nothing committed.
    await new Promise((r) => setTimeout(r, 300));
    expect(committed() ?? 0).toBe(0);
    release();
    await waitFor(() => committed() === 5, { what: "offset 5 committed" });
    const st = await system.ask<CounterState>(key, { t: "get" });
    expect(st.seen).toEqual([0, 1, 2, 3, 4]);
  });
});
