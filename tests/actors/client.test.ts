/**
 * The client IP actor (S3, S4) against literal tables: its transition step by step (leases up to
 * the limit, refusals, renew and release, the expire timer following the earliest lease, failures
 * in the window, the block and its end), the key's address normalisation, and the timer on the
 * real runtime with a ManualClock.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ClientMsg, type ClientState, createClientBehavior } from "../../actors/client/behavior.ts";
import { ManualClock } from "../../actors/clock.ts";
import { decodeJson, type Snapshot } from "../../actors/envelope.ts";
import { clientKey } from "../../actors/keys.ts";
import { ActorSystem } from "../../actors/system.ts";
import { stateTopic } from "../../actors/topics.ts";
import { runTransition } from "../../actors/transition.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { waitFor } from "../helpers/wait.ts";

const TTL = 100;
const MAX = 2;
const S3 = { maxFailures: 3, windowMs: 100, blockMs: 1_000 };
const connect = (leaseId: string): ClientMsg => ({
  t: "connect",
  leaseId,
  holder: "node-a",
  ttlMs: TTL,
  maxSessions: MAX,
});
const failed: ClientMsg = { t: "authFailed", ...S3 };
/** Node `node`'s block of slots (issue 16), lease id `<node>.ip`. */
const slots = (node: string, n: number): ClientMsg => ({
  t: "slots",
  leaseId: `${node}.ip`,
  holder: node,
  slots: n,
  ttlMs: TTL,
  maxSessions: 3,
  windowMs: S3.windowMs,
});

/** One actor driven through `runTransition`, its timers kept as the runtime keeps them. */
function actor() {
  const b = createClientBehavior();
  let state: ClientState = b.initial("192.0.2.7");
  const timers = new Map<string, { at: number }>();
  return (now: number, msg: ClientMsg) => {
    const r = runTransition(b, { key: "client:192.0.2.7", id: "192.0.2.7", state }, msg, now, timers);
    state = r.state as ClientState;
    for (const name of r.cancelled) timers.delete(name);
    for (const [name, t] of r.timers) timers.set(name, t);
    return {
      reply: r.reply.ok ? r.reply.value : { error: r.reply.error },
      leases: Object.keys(state.leases).sort(),
      expireAt: timers.get("expire")?.at,
    };
  };
}

type Step = [at: number, msg: ClientMsg, reply: unknown, leases: string[], expireAt: number | undefined];

describe("client actor: S4 leases (limit 2, TTL 100 ms)", () => {
  const steps: Step[] = [
    [0, connect("a"), { admitted: true, sessions: 1, failures: 0 }, ["a"], 100],
    [10, connect("b"), { admitted: true, sessions: 2, failures: 0 }, ["a", "b"], 100],
    [20, connect("c"), { admitted: false, refusedBy: "sessions", sessions: 2 }, ["a", "b"], 100],
    // a retried connect of a held lease renews it and takes no second slot
    [30, connect("a"), { admitted: true, sessions: 2, failures: 0 }, ["a", "b"], 110],
    [
      50,
      { t: "renew", leaseIds: ["a", "b", "gone"], ttlMs: TTL },
      { lost: ["gone"], blockedUntil: 0 },
      ["a", "b"],
      150,
    ],
    [60, { t: "release", leaseId: "a" }, null, ["b"], 150],
    [70, connect("c"), { admitted: true, sessions: 2, failures: 0 }, ["b", "c"], 150],
    // the timer: b lapses at 150, the timer moves to c's expiry
    [150, { t: "expire" }, undefined, ["c"], 170],
    [170, { t: "expire" }, undefined, [], undefined],
    [171, connect("d"), { admitted: true, sessions: 1, failures: 0 }, ["d"], 271],
    // a lapsed lease frees its slot at the next message even before the timer ran
    [300, connect("e"), { admitted: true, sessions: 1, failures: 0 }, ["e"], 400],
    [301, { t: "renew", leaseIds: ["d"], ttlMs: TTL }, { lost: ["d"], blockedUntil: 0 }, ["e"], 400],
    [302, { t: "release", leaseId: "unknown" }, null, ["e"], 400],
  ];
  const step = actor();
  it.each(steps.map((s, i) => [i, ...s] as const))(
    "step %i at %i ms: %o",
    (_i, at, msg, reply, leases, expireAt) => {
      expect(step(at, msg)).toEqual({ reply, leases, expireAt });
    },
  );
});

describe("client actor: S3 failures (3 in 100 ms block for 1000 ms)", () => {
  const steps: Step[] = [
    [0, failed, { started: false, blockedUntil: 0, failures: 1 }, [], undefined],
    [10, failed, { started: false, blockedUntil: 0, failures: 2 }, [], undefined],
    // the window has passed: the two earlier failures no longer count
    [200, failed, { started: false, blockedUntil: 0, failures: 1 }, [], undefined],
    [210, failed, { started: false, blockedUntil: 0, failures: 2 }, [], undefined],
    [220, failed, { started: true, blockedUntil: 1_220, failures: 0 }, [], undefined],
    [230, connect("a"), { admitted: false, refusedBy: "blocked", blockedUntil: 1_220 }, [], undefined],
    [240, { t: "renew", leaseIds: [], ttlMs: TTL }, { lost: [], blockedUntil: 1_220 }, [], undefined],
    // a success does not lift a block, nor does a failure during it extend the block
    [250, { t: "authSucceeded" }, undefined, [], undefined],
    [260, failed, { started: false, blockedUntil: 1_220, failures: 1 }, [], undefined],
    [1_219, connect("a"), { admitted: false, refusedBy: "blocked", blockedUntil: 1_220 }, [], undefined],
    // the block ends; the failure made during it is out of the window by now
    [1_220, connect("a"), { admitted: true, sessions: 1, failures: 1 }, ["a"], 1_320],
    [1_230, failed, { started: false, blockedUntil: 1_220, failures: 1 }, ["a"], 1_320],
    [1_240, failed, { started: false, blockedUntil: 1_220, failures: 2 }, ["a"], 1_320],
    [1_250, connect("b"), { admitted: true, sessions: 2, failures: 2 }, ["a", "b"], 1_320],
    // a success forgets the failures: the next one counts from one again
    [1_260, { t: "authSucceeded" }, undefined, ["a", "b"], 1_320],
    [1_270, failed, { started: false, blockedUntil: 1_220, failures: 1 }, ["a", "b"], 1_320],
  ];
  const step = actor();
  it.each(steps.map((s, i) => [i, ...s] as const))(
    "step %i at %i ms: %o",
    (_i, at, msg, reply, leases, expireAt) => {
      expect(step(at, msg)).toEqual({ reply, leases, expireAt });
    },
  );
});

const old = connect("old") as Extract<ClientMsg, { t: "connect" }>;
describe("client actor: S4 blocks of slots per node (limit 3, TTL 100 ms), S3 blocks them", () => {
  const steps: Step[] = [
    [0, slots("a", 2), { slots: 2, sessions: 2, blockedUntil: 0, failures: 0 }, ["a.ip"], 100],
    // b wants 2: one is left
    [10, slots("b", 2), { slots: 1, sessions: 3, blockedUntil: 0, failures: 0 }, ["a.ip", "b.ip"], 100],
    // a renews at its weight; a per-connection lease of an earlier node counts too
    [20, slots("a", 2), { slots: 2, sessions: 3, blockedUntil: 0, failures: 0 }, ["a.ip", "b.ip"], 110],
    [30, old, { admitted: false, refusedBy: "sessions", sessions: 3 }, ["a.ip", "b.ip"], 110],
    // a shrinks (always allowed); b grows into the freed slot; 0 releases
    [40, slots("a", 1), { slots: 1, sessions: 2, blockedUntil: 0, failures: 0 }, ["a.ip", "b.ip"], 110],
    [50, slots("b", 5), { slots: 2, sessions: 3, blockedUntil: 0, failures: 0 }, ["a.ip", "b.ip"], 140],
    [60, slots("a", 0), { slots: 0, sessions: 2, blockedUntil: 0, failures: 0 }, ["b.ip"], 150],
    [70, { ...old, maxSessions: 3 }, { admitted: true, sessions: 3, failures: 0 }, ["b.ip", "old"], 150],
    [150, { t: "expire" }, undefined, ["old"], 170],
    [170, { t: "expire" }, undefined, [], undefined],
    // failures in the window are counted in the answer
    [200, failed, { started: false, blockedUntil: 0, failures: 1 }, [], undefined],
    [210, slots("a", 1), { slots: 1, sessions: 1, blockedUntil: 0, failures: 1 }, ["a.ip"], 310],
    [290, failed, { started: false, blockedUntil: 0, failures: 2 }, ["a.ip"], 310],
    [301, slots("a", 1), { slots: 1, sessions: 1, blockedUntil: 0, failures: 1 }, ["a.ip"], 401],
    // blocked: no growth, a renew keeps the weight, a shrink and a release go through
    [302, failed, { started: false, blockedUntil: 0, failures: 2 }, ["a.ip"], 401],
    [303, failed, { started: true, blockedUntil: 1_303, failures: 0 }, ["a.ip"], 401],
    [310, slots("a", 3), { slots: 1, sessions: 1, blockedUntil: 1_303, failures: 0 }, ["a.ip"], 410],
    [320, slots("b", 1), { slots: 0, sessions: 1, blockedUntil: 1_303, failures: 0 }, ["a.ip"], 410],
    [330, slots("a", 0), { slots: 0, sessions: 0, blockedUntil: 1_303, failures: 0 }, [], undefined],
    // the block over, growth again
    [1_303, slots("b", 3), { slots: 3, sessions: 3, blockedUntil: 1_303, failures: 0 }, ["b.ip"], 1_403],
  ];
  const step = actor();
  it.each(steps.map((s, i) => [i, ...s] as const))(
    "step %i at %i ms: %o",
    (_i, at, msg, reply, leases, expireAt) => {
      expect(step(at, msg)).toEqual({ reply, leases, expireAt });
    },
  );
});

describe("client actor: malformed requests are refused and change nothing", () => {
  it.each<[string, ClientMsg]>([
    ["no lease id", { t: "connect", leaseId: "", holder: "n", ttlMs: TTL, maxSessions: 1 }],
    ["a zero limit", { t: "connect", leaseId: "x", holder: "n", ttlMs: TTL, maxSessions: 0 }],
    ["a TTL over an hour", { t: "connect", leaseId: "x", holder: "n", ttlMs: 3_600_001, maxSessions: 1 }],
    ["a renew without TTL", { t: "renew", leaseIds: ["x"], ttlMs: 0 }],
    ["negative slots", { ...(slots("a", 1) as Extract<ClientMsg, { t: "slots" }>), slots: -1 }],
    ["fractional slots", { ...(slots("a", 1) as Extract<ClientMsg, { t: "slots" }>), slots: 1.5 }],
    ["slots without a window", { ...(slots("a", 1) as Extract<ClientMsg, { t: "slots" }>), windowMs: 0 }],
    ["no failure limit", { t: "authFailed", maxFailures: 0, windowMs: 1, blockMs: 1 }],
  ])("%s", (_what, msg) => {
    const step = actor();
    const r = step(0, msg);
    expect(r.reply).toMatchObject({ error: expect.any(String) });
    expect(r.leases).toEqual([]);
  });
});

describe("clientKey: one actor per client address", () => {
  it.each([
    ["192.0.2.7", "client:192.0.2.7"],
    ["::ffff:192.0.2.7", "client:192.0.2.7"],
    ["0:0:0:0:0:FFFF:C000:0207", "client:192.0.2.7"],
    ["2001:DB8:0:0:0:0:0:1", "client:2001:db8::1"],
    ["[2001:db8::1]", "client:2001:db8::1"],
    ["fe80::1%eth0", "client:fe80::1"],
    ["::1", "client:::1"],
  ])("%s → %s", (ip, key) => {
    expect(clientKey(ip)).toBe(key);
  });
  it.each(["", "192.0.2", "256.0.0.1", "relay.example", "1::2::3"])("refuses %j", (ip) => {
    expect(() => clientKey(ip)).toThrow(/not an IP address/);
  });
});

describe("client actor on the runtime", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it("its timer frees a lapsed lease when the clock passes the TTL, with no message from a node", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-client-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const bus = await LogBus.open({ dir, maintenanceIntervalMs: 0 });
    const clock = new ManualClock(1_000_000);
    const system = new ActorSystem({ bus, nodeId: "local", clock, partitions: 2, localAsk: true });
    system.register(createClientBehavior());
    await system.start();
    cleanups.push(async () => {
      await system.stop();
      await bus.close();
    });
    const key = clientKey("198.51.100.9");
    const ask = (msg: ClientMsg) => system.ask(key, msg);
    const one = { t: "connect", holder: "dead-node", ttlMs: 60_000, maxSessions: 1 } as const;
    expect(await ask({ ...one, leaseId: "l1" })).toMatchObject({ admitted: true });
    expect(await ask({ ...one, leaseId: "l2" })).toMatchObject({ admitted: false, refusedBy: "sessions" });
    /** The actor's last persisted state (full snapshots: the behavior has no tables). */
    const persisted = async () => {
      let last: Snapshot | undefined;
      await bus.replay(stateTopic("client"), [0, 1], (r) => {
        if (r.key === key) last = decodeJson<Snapshot>(r.value);
      });
      return last;
    };
    expect((await persisted())?.timers).toEqual([{ name: "expire", at: 1_060_000, msg: { t: "expire" } }]);
    clock.advance(60_000);
    const after = await waitFor(
      async () => {
        const s = await persisted();
        return s && Object.keys((s.state as ClientState).leases).length === 0 ? s : undefined;
      },
      { what: "the lapsed lease dropped by the timer" },
    );
    expect(after.timers).toEqual([]);
    expect(await ask({ ...one, leaseId: "l3" })).toMatchObject({ admitted: true, sessions: 1 });
  });
});
