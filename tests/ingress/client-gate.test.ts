/**
 * S3 and S4 per client IP, the node's side (ingress/client-gate.ts): a fake client actor (the real
 * transition through `runTransition`, answers held on demand) and a manual clock. Local admits and
 * closes cost no ask; concurrent connects share one; refusals carry 421 (too many, blocked) or 451
 * (no answer); blocks are learnt from every answer; spare slots go back after `idleMs` (at once
 * with 0); blocks renew every third of the lease; stop hands everything back. A property runs two
 * nodes' gates on one fake actor through random interleavings: the per-IP limit holds and every
 * connect is answered.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ClientMsg,
  type ClientSlots,
  type ClientState,
  createClientBehavior,
  type FailureVerdict,
} from "../../actors/client/behavior.ts";
import { runTransition } from "../../actors/transition.ts";
import { type Admitted, ClientGate } from "../../ingress/client-gate.ts";
import type { ClientPort } from "../../ingress/client-port.ts";
import { Replies } from "../../ingress/errors.ts";
import { createLogger } from "../../shared/log.ts";

const TTL = 60_000;
const IP = "192.0.2.7";
const S3 = { maxFailures: 5, windowMs: 15 * 60_000, blockMs: 15 * 60_000 };
const BLOCKED = Replies.ipBlocked();
const FULL = Replies.tooManyIpSessions();
const TEMP = Replies.tempFailure();

class FakeActor implements ClientPort {
  private readonly behavior = createClientBehavior();
  state: ClientState = this.behavior.initial(IP) as ClientState;
  readonly asks: { holder: string; slots: number }[] = [];
  now = 0;
  hold = false;
  failWith: Error | undefined;
  private readonly held: (() => void)[] = [];

  constructor(readonly maxSessions = 3) {}

  /** One turn of the real transition (no timers: lapsed leases are pruned by the next message). */
  turn<T>(msg: ClientMsg): T {
    const r = runTransition(
      this.behavior,
      { key: `client:${IP}`, id: IP, state: this.state },
      msg,
      this.now,
      new Map(),
    );
    this.state = r.state as ClientState;
    if (!r.reply.ok) throw new Error(String(r.reply.error));
    return r.reply.value as T;
  }

  slots(_ip: string, msg: { leaseId: string; holder: string; slots: number }): Promise<ClientSlots> {
    this.asks.push({ holder: msg.holder, slots: msg.slots });
    if (this.failWith) return Promise.reject(this.failWith);
    const turn = () =>
      this.turn<ClientSlots>({
        t: "slots",
        ...msg,
        ttlMs: TTL,
        maxSessions: this.maxSessions,
        windowMs: S3.windowMs,
      });
    if (!this.hold) return Promise.resolve().then(turn);
    return new Promise((resolve) => this.held.push(() => resolve(turn())));
  }

  authFailed(): Promise<FailureVerdict> {
    return Promise.resolve().then(() => this.turn<FailureVerdict>({ t: "authFailed", ...S3 }));
  }

  async authSucceeded(): Promise<void> {
    this.turn({ t: "authSucceeded" });
  }

  /** Answers the held asks, in order. */
  answer(): void {
    this.hold = false;
    for (const f of this.held.splice(0)) f();
  }

  /** Slots counted at the actor now (of `holder`, or all). */
  weight(holder?: string): number {
    let n = 0;
    for (const l of Object.values(this.state.leases))
      if (l.expiresAt > this.now && (holder === undefined || l.holder === holder)) n += l.slots ?? 1;
    return n;
  }
}

const log = createLogger("silent");

function gate(actor: FakeActor, o: { nodeId?: string; idleMs?: number } = {}): ClientGate {
  return new ClientGate({
    port: actor,
    nodeId: o.nodeId ?? "n1",
    sessionLeaseMs: TTL,
    idleMs: o.idleMs ?? 2_000,
    now: () => actor.now,
    log,
  });
}

function setup(o: { idleMs?: number; maxSessions?: number } = {}) {
  const actor = new FakeActor(o.maxSessions);
  return { actor, g: gate(actor, o) };
}

/** Settles every promise: admitted or the SMTP reply it was refused with. */
const outcome = (p: Promise<Admitted>) =>
  p.then(
    (a) => a,
    (e: unknown) => e,
  );

describe("ClientGate", () => {
  it("a connect from a spare slot and a close ask nothing", async () => {
    const { actor, g } = setup();
    expect(await g.admit(IP)).toEqual({ failures: 0 });
    expect(actor.asks).toEqual([{ holder: "n1", slots: 1 }]);
    g.release(IP);
    expect(await g.admit(IP)).toEqual({ failures: 0 });
    g.release(IP);
    expect(await g.admit(`::ffff:${IP}`)).toEqual({ failures: 0 }); // one block per address
    expect(actor.asks).toHaveLength(1);
    expect([g.count(IP), g.granted(IP), actor.weight("n1")]).toEqual([1, 1, 1]);
    await g.stop();
  });

  it("concurrent connects share one ask, for the connections open plus the waiting", async () => {
    const { actor, g } = setup({ maxSessions: 10 });
    actor.hold = true;
    const all = [1, 2, 3, 4, 5].map(() => g.admit(IP));
    expect(actor.asks.map((a) => a.slots)).toEqual([1]);
    actor.answer();
    expect(await Promise.all(all)).toHaveLength(5);
    expect(actor.asks.map((a) => a.slots)).toEqual([1, 5]);
    expect(await g.admit(IP)).toEqual({ failures: 0 }); // the 6th: one ask for 6
    expect(actor.asks.map((a) => a.slots)).toEqual([1, 5, 6]);
    expect(actor.weight()).toBe(6);
    await g.stop();
  });

  it("admits in order up to the limit and refuses the rest with 421 4.7.0 (too many)", async () => {
    const { actor, g } = setup(); // 3 per IP
    const other = gate(actor, { nodeId: "n2" });
    expect(await outcome(other.admit(IP))).toEqual({ failures: 0 });
    const four = await Promise.all([1, 2, 3].map(() => outcome(g.admit(IP))));
    expect(four).toEqual([{ failures: 0 }, { failures: 0 }, FULL]);
    expect(await outcome(g.admit(IP))).toEqual(FULL);
    expect([g.granted(IP), other.granted(IP), actor.weight()]).toEqual([2, 1, 3]);
    // the other node hands its slot back (idle): this node may grow into it
    other.release(IP);
    actor.now += 2_000;
    await other.sweep();
    expect(await outcome(g.admit(IP))).toEqual({ failures: 0 });
    expect([g.count(IP), actor.weight("n1"), actor.weight()]).toEqual([3, 3, 3]);
    await Promise.all([g.stop(), other.stop()]);
  });

  it("learns a block from any answer: refused at once from then on, no ask", async () => {
    const { actor, g } = setup();
    // two failures elsewhere: an admit carries them (its AUTH will ask, blockedNow)
    for (let i = 0; i < 2; i++) await actor.authFailed();
    await Promise.all([g.admit(IP), g.admit(IP)]);
    g.release(IP); // a spare slot
    expect(await g.blockedNow(IP)).toBe(false);
    // three more on another node block the IP; this node has not heard yet: a local admit, whose
    // AUTH asks (it knows of failures) and meets the block
    for (let i = 0; i < 3; i++) await actor.authFailed();
    const asked = actor.asks.length;
    expect(await g.admit(IP)).toEqual({ failures: 2 });
    expect(actor.asks).toHaveLength(asked);
    expect(g.blocked(IP)).toBe(false);
    expect(await g.blockedNow(IP)).toBe(true);
    expect(actor.asks).toHaveLength(asked + 1);
    expect(await outcome(g.admit(IP))).toEqual(BLOCKED);
    expect(actor.asks).toHaveLength(asked + 1);
    // the block ends: connections again
    actor.now += S3.blockMs;
    expect(await g.admit(IP)).toEqual({ failures: 0 });
    await g.stop();
  });

  it("an ask answered while blocked refuses with 421 blocked; a failure verdict teaches the block", async () => {
    const { actor, g } = setup();
    const other = gate(actor, { nodeId: "n2" });
    for (let i = 0; i < 5; i++) await actor.authFailed();
    expect(await outcome(g.admit(IP))).toEqual(BLOCKED);
    expect(g.blocked(IP)).toBe(true);
    actor.now += S3.blockMs;
    expect(await g.admit(IP)).toEqual({ failures: 0 });
    for (let i = 0; i < 4; i++) await other.failed(IP);
    expect(g.blocked(IP)).toBe(false); // learnt by the node that reported, not yet by this one
    expect((await other.failed(IP))?.started).toBe(true);
    expect(other.blocked(IP)).toBe(true);
    await Promise.all([g.stop(), other.stop()]);
  });

  it("an actor that does not answer: the connects get 451, blockedNow throws 451", async () => {
    const { actor, g } = setup();
    actor.failWith = new Error("actor out of reach");
    const both = await Promise.all([outcome(g.admit(IP)), outcome(g.admit(IP))]);
    expect(both).toEqual([TEMP, TEMP]);
    await expect(g.blockedNow(IP)).rejects.toEqual(TEMP);
    actor.failWith = undefined;
    expect(await g.admit(IP)).toEqual({ failures: 0 });
    await g.stop();
  });

  it("hands a spare slot back once unused for idleMs", async () => {
    const { actor, g } = setup();
    await Promise.all([g.admit(IP), g.admit(IP)]);
    g.release(IP);
    const asked = actor.asks.length;
    actor.now += 1_999;
    await g.sweep();
    expect(actor.asks).toHaveLength(asked);
    actor.now += 1;
    await g.sweep();
    expect(actor.asks.slice(asked)).toEqual([{ holder: "n1", slots: 1 }]);
    g.release(IP);
    actor.now += 2_000;
    await g.sweep();
    expect(actor.asks.at(-1)?.slots).toBe(0);
    expect([g.granted(IP), actor.weight()]).toEqual([0, 0]);
  });

  it("with idleMs 0 a close hands the slot back at once", async () => {
    const { actor, g } = setup({ idleMs: 0 });
    await g.admit(IP);
    g.release(IP);
    await g.sweep();
    expect(actor.asks.map((a) => a.slots)).toEqual([1, 0]);
    expect(actor.weight()).toBe(0);
  });

  it("admits nothing locally from a slot that a hand-back in flight takes away", async () => {
    const { actor, g } = setup({ idleMs: 0 });
    await g.admit(IP);
    await g.sweep(); // no ask left running
    actor.hold = true;
    g.release(IP); // the block shrinks to 0: the ask is on its way
    const again = g.admit(IP);
    actor.answer();
    expect(await again).toEqual({ failures: 0 });
    expect(actor.asks.map((a) => a.slots)).toEqual([1, 0, 1]);
    expect(actor.weight()).toBe(1);
    await g.stop();
  });

  it("renews each block every third of the lease with its weight; a lapsed block is not used locally", async () => {
    const { actor, g } = setup();
    await Promise.all([g.admit(IP), g.admit(IP)]);
    const asked = actor.asks.length;
    actor.now += TTL / 3 - 1;
    await g.sweep();
    expect(actor.asks).toHaveLength(asked);
    actor.now += 1;
    await g.sweep();
    expect(actor.asks.slice(asked)).toEqual([{ holder: "n1", slots: 2 }]);
    actor.now = TTL + 1; // renewed at TTL/3: still held when the first lease would have lapsed
    expect(actor.weight("n1")).toBe(2);
    // no renew for a whole lease (the node was cut off): the next connect asks again
    g.release(IP);
    actor.now += TTL;
    expect(await g.admit(IP)).toEqual({ failures: 0 });
    expect(actor.asks.at(-1)).toEqual({ holder: "n1", slots: 2 });
    await g.stop();
  });

  it("stop hands every block back with 0 slots; a connect after it gets 451", async () => {
    const { actor, g } = setup();
    await Promise.all([g.admit(IP), g.admit("198.51.100.1")]);
    await g.stop();
    expect(actor.asks.slice(-2).map((a) => a.slots)).toEqual([0, 0]);
    expect(actor.weight()).toBe(0);
    expect(await outcome(g.admit(IP))).toEqual(TEMP);
  });

  it("an AUTH's ask waiting behind another when the gate stops still gets its answer", async () => {
    const { actor, g } = setup();
    actor.hold = true;
    const first = g.blockedNow(IP);
    const second = g.blockedNow(IP); // waits for an ask sent after it
    const stopped = g.stop();
    actor.answer();
    expect(await Promise.all([first, second, stopped])).toEqual([false, false, undefined]);
    expect(actor.asks.map((a) => a.slots)).toEqual([0, 0]);
  });

  it("property: two nodes, random interleavings: within the per-IP limit, every connect answered", async () => {
    const op = fc.record({
      kind: fc.constantFrom("admit", "admit", "release", "advance", "tick", "hold", "answer", "fail"),
      node: fc.nat(1),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.constantFrom(0, 2_000), async (ops, idleMs) => {
        const actor = new FakeActor(3);
        const nodes = ["n1", "n2"].map((nodeId) => gate(actor, { nodeId, idleMs }));
        const open = [0, 0];
        const sum = () => (open[0] ?? 0) + (open[1] ?? 0);
        const pending: Promise<unknown>[] = [];
        for (const o of ops) {
          const g = nodes[o.node] as ClientGate;
          if (o.kind === "admit")
            pending.push(
              g.admit(IP).then(
                () => {
                  open[o.node] = (open[o.node] ?? 0) + 1;
                },
                () => undefined,
              ),
            );
          else if (o.kind === "release" && (open[o.node] ?? 0) > 0) {
            open[o.node] = (open[o.node] ?? 0) - 1;
            g.release(IP);
          } else if (o.kind === "advance") actor.now += 1_000;
          else if (o.kind === "hold") actor.hold = true;
          else if (o.kind === "answer") actor.answer();
          else if (o.kind === "fail") await g.failed(IP);
          else await new Promise((r) => setImmediate(r));
          expect(sum()).toBeLessThanOrEqual(3);
          // the actor counts every open connection (while no lease can have lapsed unrenewed)
          if (actor.now < TTL - 2_000) expect(actor.weight()).toBeGreaterThanOrEqual(sum());
        }
        actor.answer();
        await Promise.all(nodes.map((g) => g.sweep()));
        let answered = 0;
        for (const p of pending) void p.then(() => answered++);
        await new Promise((r) => setImmediate(r));
        expect(answered).toBe(pending.length);
        expect(actor.weight()).toBeGreaterThanOrEqual(sum());
        await Promise.all(nodes.map((g) => g.stop()));
        expect(actor.weight()).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
