/**
 * S4 session slots as credit, the node's side (ingress/session-credit.ts): a fake account actor
 * (the real `sessionCredit` transition over one state per account, answers held on demand) and a
 * manual clock. Local acquires cost no ask; concurrent acquirers share one; refusals name the limit;
 * spare slots go back after `idleMs` (at once with 0); blocks renew every third of the lease;
 * close hands everything back; a failed ask fails the acquire. A property runs two nodes' credits
 * on one fake actor through random interleavings: the limits hold and every acquire is answered.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sessionCredit } from "../../actors/account/sessions.ts";
import { type Ctx, initialAccount } from "../../actors/account/state.ts";
import { SessionCredit, type SessionCreditActor, type SlotGrant } from "../../ingress/session-credit.ts";
import type { AccountReply, AccountState, SessionCreditGrant } from "../../shared/model/account/protocol.ts";

const TTL = 60_000;

class FakeActor implements SessionCreditActor {
  readonly states = new Map<string, AccountState>();
  readonly asks: { accountId: string; username: string; slots: number }[] = [];
  now = 0;
  hold = false;
  failWith: Error | undefined;
  private readonly held: (() => void)[] = [];

  constructor(private readonly limits = { maxPerUser: 3, maxPerAccount: 5 }) {}

  credit(
    accountId: string,
    msg: { leaseId: string; username: string; slots: number },
  ): Promise<SessionCreditGrant> {
    this.asks.push({ accountId, username: msg.username, slots: msg.slots });
    if (this.failWith) return Promise.reject(this.failWith);
    const turn = (): SessionCreditGrant => {
      let reply: AccountReply<SessionCreditGrant> | undefined;
      const ctx = { now: this.now, reply: (v: unknown) => (reply = v as typeof reply) } as Ctx;
      const s = this.states.get(accountId) ?? initialAccount(accountId);
      this.states.set(
        accountId,
        sessionCredit(s, { t: "sessionCredit", ttlMs: TTL, ...this.limits, ...msg }, ctx, {
          partitions: 1,
          retentionDays: 1,
          reverifyHours: 1,
        }),
      );
      if (!reply?.ok) throw new Error("refused");
      return reply.value;
    };
    if (!this.hold) return Promise.resolve().then(turn);
    return new Promise((resolve) => this.held.push(() => resolve(turn())));
  }

  /** Answers the held asks, in order. */
  answer(): void {
    this.hold = false;
    for (const f of this.held.splice(0)) f();
  }

  /** Slots counted for `username` (and the account) at the actor now. */
  weight(accountId: string, username?: string): number {
    let n = 0;
    for (const l of Object.values(this.states.get(accountId)?.sessions ?? {}))
      if (l.expiresAt > this.now && (username === undefined || l.holder === username)) n += l.slots ?? 1;
    return n;
  }
}

function setup(o: { idleMs?: number; limits?: { maxPerUser: number; maxPerAccount: number } } = {}) {
  const actor = new FakeActor(o.limits);
  const errors: unknown[] = [];
  const credit = new SessionCredit({
    actor,
    nodeId: "n1",
    ttlMs: TTL,
    idleMs: o.idleMs ?? 2_000,
    now: () => actor.now,
    onError: (e) => errors.push(e),
  });
  return { actor, credit, errors };
}

const OK: SlotGrant = { granted: true };

describe("SessionCredit", () => {
  it("an acquire from a spare slot and a release ask nothing", async () => {
    const { actor, credit } = setup();
    expect(await credit.acquire("a1", "u1")).toEqual(OK);
    expect(actor.asks).toEqual([{ accountId: "a1", username: "u1", slots: 1 }]);
    credit.release("a1", "u1");
    expect(await credit.acquire("a1", "u1")).toEqual(OK);
    credit.release("a1", "u1");
    expect(actor.asks).toHaveLength(1);
    expect([credit.inUse("a1", "u1"), credit.granted("a1", "u1"), actor.weight("a1", "u1")]).toEqual([
      0, 1, 1,
    ]);
    await credit.close();
  });

  it("concurrent acquirers share one ask, for the sessions open plus the waiting", async () => {
    const { actor, credit } = setup({ limits: { maxPerUser: 10, maxPerAccount: 10 } });
    actor.hold = true;
    const first = credit.acquire("a1", "u1");
    const more = [1, 2, 3, 4].map(() => credit.acquire("a1", "u1"));
    expect(actor.asks.map((a) => a.slots)).toEqual([1]);
    actor.answer();
    expect(await Promise.all([first, ...more])).toEqual([OK, OK, OK, OK, OK]);
    expect(actor.asks.map((a) => a.slots)).toEqual([1, 5]);
    // the 6th while 5 are open: one ask for 6
    expect(await credit.acquire("a1", "u1")).toEqual(OK);
    expect(actor.asks.map((a) => a.slots)).toEqual([1, 5, 6]);
    await credit.close();
  });

  it("grants in order up to what came back and refuses the rest with the limit that refused", async () => {
    const { actor, credit } = setup(); // 3 per user, 5 per account
    const u1 = await Promise.all([1, 2, 3, 4].map(() => credit.acquire("a1", "u1")));
    expect(u1).toEqual([OK, OK, OK, { granted: false, refusedBy: "user" }]);
    const u2 = await Promise.all([1, 2, 3].map(() => credit.acquire("a1", "u2")));
    expect(u2).toEqual([OK, OK, { granted: false, refusedBy: "account" }]);
    expect(await credit.acquire("a1", "u3")).toEqual({ granted: false, refusedBy: "account" });
    expect([actor.weight("a1", "u1"), actor.weight("a1")]).toEqual([3, 5]);
    // a closed session's spare slot on this node goes to another user of the account at once
    credit.release("a1", "u1");
    expect(await credit.acquire("a1", "u3")).toEqual(OK);
    expect([actor.weight("a1", "u1"), actor.weight("a1", "u3"), actor.weight("a1")]).toEqual([2, 1, 5]);
    await credit.close();
  });

  it("hands a spare slot back once it has been unused for idleMs", async () => {
    const { actor, credit } = setup();
    await Promise.all([credit.acquire("a1", "u1"), credit.acquire("a1", "u1")]);
    credit.release("a1", "u1");
    const asked = actor.asks.length;
    actor.now += 1_999;
    await credit.sweep();
    expect(actor.asks).toHaveLength(asked);
    actor.now += 1;
    await credit.sweep();
    expect(actor.asks.slice(asked)).toEqual([{ accountId: "a1", username: "u1", slots: 1 }]);
    expect([credit.granted("a1", "u1"), actor.weight("a1", "u1")]).toEqual([1, 1]);
    credit.release("a1", "u1");
    actor.now += 2_000;
    await credit.sweep();
    expect(actor.asks.at(-1)?.slots).toBe(0);
    expect([credit.granted("a1", "u1"), actor.weight("a1")]).toEqual([0, 0]);
  });

  it("with idleMs 0 a release hands the slot back at once", async () => {
    const { actor, credit } = setup({ idleMs: 0 });
    await credit.acquire("a1", "u1");
    credit.release("a1", "u1");
    await credit.sweep();
    expect(actor.asks.map((a) => a.slots)).toEqual([1, 0]);
    expect(actor.weight("a1")).toBe(0);
  });

  it("grants nothing locally from a slot that a hand-back in flight takes away", async () => {
    const { actor, credit } = setup({ idleMs: 0 });
    await credit.acquire("a1", "u1");
    await credit.sweep(); // no ask left running
    actor.hold = true;
    credit.release("a1", "u1"); // the block shrinks to 0: the ask is on its way
    const again = credit.acquire("a1", "u1");
    actor.answer();
    expect(await again).toEqual(OK);
    expect(actor.asks.map((a) => a.slots)).toEqual([1, 0, 1]);
    expect(actor.weight("a1", "u1")).toBe(1);
    await credit.close();
  });

  it("renews each block every third of the lease with its weight; a lapsed block is not used locally", async () => {
    const { actor, credit } = setup();
    await Promise.all([credit.acquire("a1", "u1"), credit.acquire("a1", "u1")]);
    const asked = actor.asks.length;
    actor.now += TTL / 3 - 1;
    await credit.sweep();
    expect(actor.asks).toHaveLength(asked);
    actor.now += 1;
    await credit.sweep();
    expect(actor.asks.slice(asked)).toEqual([{ accountId: "a1", username: "u1", slots: 2 }]);
    // renewed at TTL/3: still held when the first lease would have lapsed
    actor.now = TTL + 1;
    expect(actor.weight("a1", "u1")).toBe(2);
    // no renew for a whole lease (the node was cut off): the next acquire asks again
    credit.release("a1", "u1");
    actor.now += TTL;
    expect(await credit.acquire("a1", "u1")).toEqual(OK);
    expect(actor.asks.at(-1)).toEqual({ accountId: "a1", username: "u1", slots: 2 });
    await credit.close();
  });

  it("close hands every block back with 0 slots; an acquire after it fails", async () => {
    const { actor, credit } = setup();
    await Promise.all([credit.acquire("a1", "u1"), credit.acquire("a1", "u2"), credit.acquire("a2", "u1")]);
    await credit.close();
    expect(actor.asks.slice(-3).map((a) => a.slots)).toEqual([0, 0, 0]);
    expect([actor.weight("a1"), actor.weight("a2")]).toEqual([0, 0]);
    await expect(credit.acquire("a1", "u1")).rejects.toThrow(/closed/);
  });

  it("a failed ask fails its acquirers (451 at AUTH); a failed renew is reported and tried again", async () => {
    const { actor, credit, errors } = setup();
    actor.failWith = new Error("actor out of reach");
    const both = [credit.acquire("a1", "u1"), credit.acquire("a1", "u1")];
    for (const p of both) await expect(p).rejects.toThrow("actor out of reach");
    actor.failWith = undefined;
    expect(await credit.acquire("a1", "u1")).toEqual(OK);
    actor.failWith = new Error("down");
    actor.now += TTL / 3;
    await credit.sweep();
    expect(errors).toHaveLength(1);
    actor.failWith = undefined;
    const asked = actor.asks.length;
    await credit.sweep();
    expect(actor.asks.slice(asked)).toEqual([{ accountId: "a1", username: "u1", slots: 1 }]);
    await credit.close();
  });

  it("property: two nodes, random interleavings: within the limits, every acquire answered", async () => {
    const op = fc.record({
      kind: fc.constantFrom("acquire", "acquire", "release", "advance", "tick", "hold", "answer"),
      node: fc.nat(1),
      user: fc.constantFrom("u1", "u2", "u3"),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.constantFrom(0, 2_000), async (ops, idleMs) => {
        const actor = new FakeActor(); // 3 per user, 5 per account
        const nodes = ["n1", "n2"].map(
          (nodeId) => new SessionCredit({ actor, nodeId, ttlMs: TTL, idleMs, now: () => actor.now }),
        );
        const open = new Map<string, number>();
        const sum = (user?: string) =>
          [...open].filter(([k]) => user === undefined || k.endsWith(user)).reduce((a, [, v]) => a + v, 0);
        const pending: Promise<unknown>[] = [];
        for (const o of ops) {
          const k = `${o.node}:${o.user}`;
          const credit = nodes[o.node] as SessionCredit;
          if (o.kind === "acquire")
            pending.push(
              credit.acquire("a1", o.user).then((g) => {
                if (g.granted) open.set(k, (open.get(k) ?? 0) + 1);
              }),
            );
          else if (o.kind === "release" && (open.get(k) ?? 0) > 0) {
            open.set(k, (open.get(k) ?? 0) - 1);
            credit.release("a1", o.user);
          } else if (o.kind === "advance") actor.now += 1_000;
          else if (o.kind === "hold")
            actor.hold = true; // answers wait for an "answer"
          else if (o.kind === "answer") actor.answer();
          else await new Promise((r) => setImmediate(r));
          for (const u of ["u1", "u2", "u3"]) expect(sum(u)).toBeLessThanOrEqual(3);
          expect(sum()).toBeLessThanOrEqual(5);
          // the actor counts every open session (while no lease can have lapsed unrenewed)
          if (actor.now < TTL - 2_000) expect(actor.weight("a1")).toBeGreaterThanOrEqual(sum());
        }
        actor.answer();
        await Promise.all(nodes.map((c) => c.sweep()));
        let answered = 0;
        for (const p of pending) void p.then(() => answered++);
        await new Promise((r) => setImmediate(r));
        expect(answered).toBe(pending.length);
        expect(actor.weight("a1")).toBeGreaterThanOrEqual(sum());
        await Promise.all(nodes.map((c) => c.close()));
        expect(actor.weight("a1")).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
