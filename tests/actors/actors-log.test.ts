/** Actor runtime on the embedded durable log: order, parallelism, restore, timers, errors. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../actors/clock.ts";
import { ActorError, AskTimeoutError } from "../../actors/errors.ts";
import { actorKey } from "../../actors/keys.ts";
import { ActorSystem } from "../../actors/system.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { partitionFor } from "../../shared/bus/partition.ts";
import type { Bus, BusRecord, OutRecord } from "../../shared/bus/types.ts";
import { waitFor } from "../helpers/wait.ts";
import { type CounterState, counterBehavior, FIRED_TOPIC } from "./counter.ts";

const PARTITIONS = 4;
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function node(
  dir: string,
  clock: ManualClock,
  opts: { localAsk?: boolean; wrap?: (b: Bus) => Bus } = {},
) {
  const raw = await LogBus.open({ dir });
  const bus = opts.wrap ? opts.wrap(raw) : raw;
  const system = new ActorSystem({
    bus,
    nodeId: "local",
    clock,
    partitions: PARTITIONS,
    localAsk: opts.localAsk ?? true,
  });
  system.register(counterBehavior());
  await system.start();
  await waitFor(() => system.ownedPartitions("counter").length === PARTITIONS, { what: "all partitions" });
  const stop = async () => {
    await system.stop();
    await raw.close();
  };
  cleanups.push(stop);
  return { system, bus: raw, stop };
}

function tempDir() {
  const d = mkdtempSync(join(tmpdir(), "petrel-actors-"));
  dirs.push(d);
  return d;
}

describe.each([true, false])("actor runtime on the embedded log (localAsk=%s)", (localAsk) => {
  it("handles one message at a time per key, in order", async () => {
    const { system } = await node(tempDir(), new ManualClock(), { localAsk });
    const key = actorKey("counter", "ordered");
    await Promise.all(
      Array.from({ length: 60 }, (_, n) =>
        n % 2 ? system.tell(key, { t: "add", n }) : system.ask(key, { t: "add", n }),
      ),
    );
    const s = await waitFor(async () => {
      const st = await system.ask<CounterState>(key, { t: "get" });
      return st.count === 60 ? st : undefined;
    });
    // Tells and asks issued in one order may interleave across the two paths, but each path keeps
    // its own order and nothing is lost or applied twice.
    expect([...s.seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, n) => n));
    const odd = s.seen.filter((n) => n % 2);
    expect(odd).toEqual([...odd].sort((a, b) => a - b));
    const even = s.seen.filter((n) => n % 2 === 0);
    expect(even).toEqual([...even].sort((a, b) => a - b));
  });

  it("answers an ask with the actor's error and keeps its state", async () => {
    const { system } = await node(tempDir(), new ManualClock(), { localAsk });
    const key = actorKey("counter", "err");
    await system.ask(key, { t: "add", n: 1 });
    await expect(system.ask(key, { t: "boom" })).rejects.toBeInstanceOf(ActorError);
    expect((await system.ask<CounterState>(key, { t: "get" })).count).toBe(1);
  });

  it("hands several tells to their actors in one publish", async () => {
    const { system } = await node(tempDir(), new ManualClock(), { localAsk });
    const keys = ["a", "b", "c"].map((id) => actorKey("counter", `many-${id}`));
    await system.tellAll(
      keys.flatMap((key, i) => [0, 1].map((n) => ({ key, msg: { t: "add", n: i * 10 + n } }))),
    );
    for (const [i, key] of keys.entries()) {
      const st = await waitFor(async () => {
        const s = await system.ask<CounterState>(key, { t: "get" });
        return s.count === 2 ? s : undefined;
      });
      expect(st.seen).toEqual([i * 10, i * 10 + 1]);
    }
  });

  it("delivers messages between actors through the bus", async () => {
    const { system } = await node(tempDir(), new ManualClock(), { localAsk });
    const a = actorKey("counter", "from");
    const b = actorKey("counter", "to");
    await system.tell(a, { t: "forward", to: b, n: 7 });
    await waitFor(async () => (await system.ask<CounterState>(b, { t: "get" })).count === 1, {
      what: "forwarded",
    });
    expect((await system.ask<CounterState>(b, { t: "get" })).seen).toEqual([7]);
  });
});

describe("actor runtime: durability and time", () => {
  it("restores state and pending timers after a restart, and the timers fire", async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const first = await node(dir, clock);
    const key = actorKey("counter", "durable");
    for (let n = 0; n < 5; n++) await first.system.ask(key, { t: "add", n });
    await first.system.ask(key, { t: "arm", name: "retry-1", inMs: 60_000 });
    await first.system.ask(key, { t: "arm", name: "retry-2", inMs: 3_600_000 });
    await first.stop();

    const clock2 = new ManualClock(clock.now() + 1000);
    const second = await node(dir, clock2);
    // The actor was woken by its pending timers, before any message reached it.
    expect(second.system.isLive(key)).toBe(true);
    const st = await second.system.ask<CounterState & { timers: Record<string, number> }>(key, { t: "get" });
    expect(st.count).toBe(5);
    expect(st.seen).toEqual([0, 1, 2, 3, 4]);
    expect(Object.keys(st.timers).sort()).toEqual(["retry-1", "retry-2"]);

    clock2.advance(60_000);
    const fired: BusRecord[] = [];
    await waitFor(
      async () => {
        fired.length = 0;
        await second.bus.replay(FIRED_TOPIC, [0], (r) => fired.push(r));
        return fired.length === 1;
      },
      { what: "retry-1 fired" },
    );
    expect(JSON.parse(new TextDecoder().decode(fired[0]!.value)).name).toBe("retry-1");
    await waitFor(async () => (await second.system.ask<CounterState>(key, { t: "get" })).fired.length === 1);
    await second.stop();

    // After another restart only retry-2 is pending; it fires once time reaches it.
    const clock3 = new ManualClock(clock2.now() + 4_000_000);
    const third = await node(dir, clock3);
    clock3.advance(0);
    await waitFor(async () => (await third.system.ask<CounterState>(key, { t: "get" })).fired.length === 2, {
      what: "retry-2 fired",
    });
    const st3 = await third.system.ask<CounterState & { timers: Record<string, number> }>(key, { t: "get" });
    expect(st3.fired).toEqual(["retry-1", "retry-2"]);
    expect(st3.timers).toEqual({});
  });

  it("runs keys of different partitions in parallel: a stalled actor does not hold up others", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = actorKey("counter", "slow");
    // A decorator over the real bus that makes the slow actor's snapshot write wait on the gate.
    const wrap = (bus: Bus): Bus =>
      new Proxy(bus, {
        get(target, prop, receiver) {
          if (prop === "publish") {
            return async (topic: string, records: OutRecord[]) => {
              if (topic === "actor.counter.state" && records.some((r) => r.key === slow)) await gate;
              return target.publish(topic, records);
            };
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
    const { system } = await node(tempDir(), new ManualClock(), { wrap, localAsk: false });
    const slowDone = system.ask(slow, { t: "add", n: 1 });
    const others = Array.from({ length: 40 }, (_, i) => actorKey("counter", `other-${i}`)).filter(
      (k) => partitionFor(k, PARTITIONS) !== partitionFor(slow, PARTITIONS),
    );
    expect(others.length).toBeGreaterThan(10);
    const answers = await Promise.all(others.map((k) => system.ask<number>(k, { t: "add", n: 1 })));
    expect(answers.every((a) => a === 1)).toBe(true);
    let slowAnswered = false;
    void slowDone.then(() => {
      slowAnswered = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(slowAnswered).toBe(false);
    release();
    expect(await slowDone).toBe(1);
  });

  it("times an ask out by the injected clock when no node hosts the actor", async () => {
    const clock = new ManualClock();
    const { system } = await node(tempDir(), clock);
    const p = system.ask(actorKey("nobody", "x"), { t: "get" }, 5_000);
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(5_000);
    await expect(p).rejects.toBeInstanceOf(AskTimeoutError);
  });
});
