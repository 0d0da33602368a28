/**
 * Actor placement on real Kafka: two nodes in child processes, a key's actor is live on exactly
 * one of them (the one its partition is assigned to); SIGKILL that node and the other resumes the
 * actor with its restored state and its pending timer.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SystemClock } from "../../actors/clock.ts";
import { actorKey } from "../../actors/keys.ts";
import { ActorSystem } from "../../actors/system.ts";
import { KafkaBus } from "../../shared/bus/kafka/kafka-bus.ts";
import { partitionFor } from "../../shared/bus/partition.ts";
import { kafkaBrokers } from "../helpers/kafka.ts";
import { waitFor } from "../helpers/wait.ts";
import { type CounterState, FIRED_TOPIC } from "./counter.ts";

const brokers = kafkaBrokers("actors on Kafka");
const PARTITIONS = 6;

interface Child {
  name: string;
  proc: ChildProcessWithoutNullStreams;
  owned: number[];
  live: string[] | undefined;
  out: string[];
}

function startNode(name: string): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", "tests/actors/node-child.ts"], {
    env: { ...process.env, BROKERS: brokers!.join(","), NODE: name, PARTITIONS: String(PARTITIONS) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const child: Child = { name, proc, owned: [], live: undefined, out: [] };
  createInterface({ input: proc.stdout }).on("line", (line) => {
    child.out.push(line);
    const [kind, , list] = line.split(" ");
    const items = list ? list.split(",").filter(Boolean) : [];
    if (kind === "owned") child.owned = items.map(Number);
    if (kind === "live") child.live = items;
  });
  createInterface({ input: proc.stderr }).on("line", (line) => child.out.push(`stderr: ${line}`));
  return child;
}

async function liveKeys(child: Child, keys: string[]): Promise<string[]> {
  child.live = undefined;
  child.proc.stdin.write(`live ${keys.join(" ")}\n`);
  return waitFor(() => child.live, { what: `${child.name} live keys` });
}

describe.skipIf(!brokers)("actor placement on real Kafka (two nodes)", () => {
  const children: Child[] = [];
  let bus: KafkaBus;
  let client: ActorSystem;

  beforeAll(async () => {
    bus = new KafkaBus({ brokers: brokers!, clientId: "actors-test-client" });
    // A node that hosts nothing: it only asks.
    client = new ActorSystem({
      bus,
      nodeId: `client-${randomUUID().slice(0, 8)}`,
      clock: new SystemClock(),
      partitions: PARTITIONS,
    });
    await client.start();
  });

  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
    await client?.stop();
    await bus?.close();
  });

  it("runs each key on exactly one node and moves it with state and timers when that node dies", async () => {
    const a = startNode("A");
    children.push(a);
    await waitFor(() => a.owned.length === PARTITIONS, {
      timeoutMs: 120_000,
      what: () => `A owns all (A said: ${a.out.slice(-8).join(" | ")})`,
    });
    const b = startNode("B");
    children.push(b);
    await waitFor(
      () => a.owned.length > 0 && b.owned.length > 0 && a.owned.length + b.owned.length === PARTITIONS,
      {
        timeoutMs: 120_000,
        what: "A and B share the partitions",
      },
    );

    const keys = Array.from({ length: 24 }, (_, i) => actorKey("counter", `k${i}`));
    for (const key of keys) {
      await client.ask(key, { t: "add", n: 1 }, 30_000);
      await client.ask(key, { t: "add", n: 2 }, 30_000);
    }
    const ownerOf = (key: string) => (a.owned.includes(partitionFor(key, PARTITIONS)) ? a : b);
    const liveA = await liveKeys(a, keys);
    const liveB = await liveKeys(b, keys);
    for (const key of keys) {
      const owner = ownerOf(key);
      const st = await client.ask<CounterState & { node: string }>(key, { t: "get" }, 30_000);
      expect(st.node).toBe(owner.name);
      expect(st.count).toBe(2);
      // Live on exactly one node: the owner.
      expect(liveA.includes(key)).toBe(owner === a);
      expect(liveB.includes(key)).toBe(owner === b);
    }

    // Arm a timer on a key that A runs, then kill A before it is due.
    const onA = keys.find((k) => ownerOf(k) === a)!;
    expect(await client.ask(onA, { t: "arm", name: "after-failover", inMs: 4000 }, 30_000)).toBe("armed");
    a.proc.kill("SIGKILL");
    await waitFor(() => b.owned.length === PARTITIONS, {
      timeoutMs: 120_000,
      what: "B takes over every partition",
    });

    const fired = await waitFor(
      async () => {
        const recs: { name: string; node: string }[] = [];
        await bus.replay(FIRED_TOPIC, [0], (r) => {
          if (r.key === onA) recs.push(JSON.parse(new TextDecoder().decode(r.value)));
        });
        return recs.length > 0 ? recs : undefined;
      },
      { timeoutMs: 120_000, what: "the timer armed on A fires on B" },
    );
    expect(fired.map((f) => f.node)).toEqual(["B"]);
    expect(fired[0]!.name).toBe("after-failover");
    for (const key of keys) {
      const st = await client.ask<CounterState & { node: string }>(key, { t: "get" }, 30_000);
      expect(st.node).toBe("B");
      expect(st.count).toBe(2);
      expect(st.seen).toEqual([1, 2]);
    }
    expect(await liveKeys(b, [onA])).toEqual([onA]);
    // Two JVM-backed group joins, a session timeout and a takeover: on 2 shared cores in CI this
    // has taken over a minute. Each wait inside is bounded on its own.
  }, 420_000);
});
