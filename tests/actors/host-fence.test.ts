/** A rebalance fences timers: one that comes due meanwhile fires only if its actor stayed here. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ManualClock } from "../../actors/clock.ts";
import { ActorHost } from "../../actors/host.ts";
import { actorKey } from "../../actors/keys.ts";
import { stateTopic } from "../../actors/topics.ts";
import type { Effects } from "../../actors/transition.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { partitionFor } from "../../shared/bus/partition.ts";
import { counterBehavior } from "./counter.ts";

const P = 2;
let dir: string;
let bus: LogBus;
let clock: ManualClock;
let host: ActorHost;
let dispatched: Effects[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "petrel-fence-"));
  bus = await LogBus.open({ dir });
  await bus.ensureTopics([{ name: stateTopic("counter"), partitions: P, compacted: true }]);
  clock = new ManualClock();
  dispatched = [];
  host = new ActorHost(counterBehavior(), {
    bus,
    clock,
    partitions: P,
    dispatch: async (e) => {
      dispatched.push(e);
    },
    onError: (e) => {
      throw e;
    },
  });
  await host.assign([0, 1].map((partition) => ({ topic: "actor.counter.inbox", partition })));
});

afterEach(async () => {
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

const fired = () => dispatched.flatMap((e) => e.emits).length;
const ask = { node: "n", id: "1" };

it("holds a due timer during a rebalance and fires it after, when the actor stays", async () => {
  const key = actorKey("counter", "stays");
  await host.deliverLocal(key, { t: "arm", name: "x", inMs: 1000 }, ask);
  host.fence();
  clock.advance(5000);
  await host.drain();
  expect(fired()).toBe(0);
  host.unfence();
  await new Promise((r) => setImmediate(r));
  await host.drain();
  expect(fired()).toBe(1);
});

it("drops a due timer whose partition was revoked during the rebalance", async () => {
  const key = actorKey("counter", "moves");
  await host.deliverLocal(key, { t: "arm", name: "x", inMs: 1000 }, ask);
  host.fence();
  clock.advance(5000);
  await host.revoke([{ topic: "actor.counter.inbox", partition: partitionFor(key, P) }]);
  host.unfence();
  await new Promise((r) => setImmediate(r));
  expect(fired()).toBe(0);
  expect(host.isLive(key)).toBe(false);
});
