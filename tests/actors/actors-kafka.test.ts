/**
 * Actor placement on real Kafka: two nodes in child processes, a key's actor is live on exactly
 * one of them (the one its partition is assigned to); each node's asks reach actors placed on the
 * other and the answers come back; SIGKILL a node and the other resumes the actor with its
 * restored state and its pending timer.
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
/** Keys of this run: a broker reused through PETREL_KAFKA_BROKERS keeps the actors of earlier runs. */
const RUN = randomUUID().slice(0, 8);

interface Child {
  name: string;
  proc: ChildProcessWithoutNullStreams;
  owned: number[];
  live: string[] | undefined;
  /** Answers to the asks this node made for the test, by ask id. */
  answers: Map<string, { ok: boolean; text: string }>;
  out: string[];
}

function startNode(name: string): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", "tests/actors/node-child.ts"], {
    env: { ...process.env, BROKERS: brokers!.join(","), NODE: name, PARTITIONS: String(PARTITIONS) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const child: Child = { name, proc, owned: [], live: undefined, answers: new Map(), out: [] };
  createInterface({ input: proc.stdout }).on("line", (line) => {
    child.out.push(line);
    const [kind, second = "", list] = line.split(" ");
    const items = list ? list.split(",").filter(Boolean) : [];
    if (kind === "owned") child.owned = items.map(Number);
    if (kind === "live") child.live = items;
    if (kind === "answer" || kind === "failed") {
      child.answers.set(second, { ok: kind === "answer", text: line.slice(kind.length + second.length + 2) });
    }
  });
  createInterface({ input: proc.stderr }).on("line", (line) => child.out.push(`stderr: ${line}`));
  return child;
}

async function liveKeys(child: Child, keys: string[]): Promise<string[]> {
  child.live = undefined;
  child.proc.stdin.write(`live ${keys.join(" ")}\n`);
  return waitFor(() => child.live, { what: `${child.name} live keys` });
}

let asks = 0;

/** Has `child`'s own actor system ask `key` (the ask leaves from that node, its answer returns there). */
async function askFrom<R>(child: Child, key: string, msg: unknown): Promise<R> {
  const id = `q${++asks}`;
  child.proc.stdin.write(`ask ${id} ${key} ${JSON.stringify(msg)}\n`);
  const got = await waitFor(() => child.answers.get(id), {
    timeoutMs: 40_000,
    what: () => `${child.name}'s answer from ${key} (${child.name} said: ${child.out.slice(-8).join(" | ")})`,
  });
  if (!got.ok) throw new Error(`${child.name} asked ${key}: ${got.text}`);
  return JSON.parse(got.text) as R;
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

  /** A alone, then B: the partitions of the counter type shared between them (once, for both cases). */
  let pair: Promise<{ a: Child; b: Child }> | undefined;
  function twoNodes() {
    pair ??= (async () => {
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
          what: () =>
            `A and B share the partitions (A: ${a.out.slice(-4).join(" | ")}; B: ${b.out.slice(-4).join(" | ")})`,
        },
      );
      return { a, b };
    })();
    return pair;
  }

  it("answers an ask from one node to an actor placed on the other", async () => {
    const { a, b } = await twoNodes();
    const ids = Array.from({ length: 64 }, (_, i) => actorKey("counter", `${RUN}-across${i}`));
    const onA = ids.find((k) => a.owned.includes(partitionFor(k, PARTITIONS)))!;
    const onB = ids.find((k) => b.owned.includes(partitionFor(k, PARTITIONS)))!;
    // A's ask travels to B's inbox partition, B's answer back on A's reply topic; and the reverse.
    expect(await askFrom(a, onB, { t: "add", n: 5 })).toBe(1);
    expect(await askFrom(b, onA, { t: "add", n: 7 })).toBe(1);
    const fromA = await askFrom<CounterState & { node: string }>(a, onB, { t: "get" });
    expect(fromA).toMatchObject({ node: "B", count: 1, seen: [5] });
    const fromB = await askFrom<CounterState & { node: string }>(b, onA, { t: "get" });
    expect(fromB).toMatchObject({ node: "A", count: 1, seen: [7] });
    expect(await liveKeys(a, [onA, onB])).toEqual([onA]);
    expect(await liveKeys(b, [onA, onB])).toEqual([onB]);
    // A failure travels back too: the asker gets the actor's error, not a timeout.
    await expect(askFrom(a, onB, { t: "boom" })).rejects.toThrow(/refused on purpose/);
  }, 300_000);

  it("runs each key on exactly one node and moves it with state and timers when that node dies", async () => {
    const { a, b } = await twoNodes();

    const keys = Array.from({ length: 24 }, (_, i) => actorKey("counter", `${RUN}-k${i}`));
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
