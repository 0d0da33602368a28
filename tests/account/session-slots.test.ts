/**
 * S4 session slots as credit (issue 16), the account actor's side: `sessionCredit` sets a node's
 * block of one user's slots (a lease weighing several) within the per-user and per-account limits,
 * counting every other lease — pure transitions on a literal state and `ctx.now`. Then two nodes'
 * credits against one real account actor (ActorSystem, LogBus): together they never hold more
 * sessions than the limits; a spare slot held by one node reaches the other after `idleMs`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { sessionCredit } from "../../actors/account/sessions.ts";
import { type Ctx, initialAccount } from "../../actors/account/state.ts";
import { type AccountPort, actorAccountPort } from "../../ingress/account-port.ts";
import type {
  AccountMsg,
  AccountReply,
  AccountState,
  SessionLease,
} from "../../shared/model/account/protocol.ts";

import { type Node, plan, startNode, tempDir } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const O = { partitions: 4, retentionDays: 30, reverifyHours: 24 };
const MAX = { maxPerUser: 5, maxPerAccount: 8 };
type CreditMsg = Extract<AccountMsg, { t: "sessionCredit" }>;

function turn(s: AccountState, msg: Omit<CreditMsg, "t" | "ttlMs" | keyof typeof MAX>, now = 1_000) {
  let reply: AccountReply | undefined;
  const ctx: Partial<Ctx> = {
    key: "account:a1",
    id: "a1",
    now,
    reply: (v) => {
      reply = v as AccountReply;
    },
  };
  const next = sessionCredit(s, { t: "sessionCredit", ttlMs: 60_000, ...MAX, ...msg }, ctx as Ctx, O);
  return { next, reply };
}

const state = (sessions: Record<string, SessionLease>): AccountState => ({
  ...initialAccount("a1"),
  sessions,
});
const lease = (id: string, holder: string, expiresAt: number, slots?: number): SessionLease => ({
  id,
  holder,
  expiresAt,
  ...(slots === undefined ? {} : { slots }),
});

describe("sessionCredit (S4 as credit)", () => {
  // u1 holds 1 session lease (the earlier form) and node B's block of 2; u2 node B's block of 3.
  const s = state({
    s1: lease("s1", "u1", 61_000),
    "B.slots.u1": lease("B.slots.u1", "u1", 61_000, 2),
    "B.slots.u2": lease("B.slots.u2", "u2", 61_000, 3),
  });

  // [what, lease id, username, slots asked] → reply
  it.each<[string, string, string, number, Record<string, unknown>]>([
    ["grows within the limits", "A.slots.u1", "u1", 2, { slots: 2, userSessions: 5, accountSessions: 8 }],
    [
      "as far as the user limit",
      "A.slots.u1",
      "u1",
      4,
      { slots: 2, userSessions: 5, accountSessions: 8, refusedBy: "user" },
    ],
    [
      "as far as the account limit",
      "A.slots.u3",
      "u3",
      4,
      { slots: 2, userSessions: 2, accountSessions: 8, refusedBy: "account" },
    ],
    ["a held block grows", "B.slots.u2", "u2", 5, { slots: 5, userSessions: 5, accountSessions: 8 }],
    ["a held block shrinks", "B.slots.u2", "u2", 1, { slots: 1, userSessions: 1, accountSessions: 4 }],
    ["0 releases", "B.slots.u1", "u1", 0, { slots: 0, userSessions: 1, accountSessions: 4 }],
  ])("%s", (_, leaseId, username, slots, reply) => {
    const r = turn(s, { leaseId, username, slots });
    expect(r.reply).toEqual({ ok: true, value: reply });
    const held = r.next.sessions?.[leaseId];
    if (reply.slots === 0) expect(held).toBeUndefined();
    else
      expect(held).toEqual(
        lease(leaseId, username, 61_000, reply.slots === 1 ? undefined : (reply.slots as number)),
      );
  });

  it("prunes lapsed leases first, and extends the block", () => {
    const r = turn(s, { leaseId: "B.slots.u2", username: "u2", slots: 6 }, 61_000);
    expect(r.reply).toEqual({
      ok: true,
      value: { slots: 5, userSessions: 5, accountSessions: 5, refusedBy: "user" },
    });
    expect(r.next.sessions).toEqual({ "B.slots.u2": lease("B.slots.u2", "u2", 121_000, 5) });
  });

  it("a full account grants a new block nothing and keeps no lease for it", () => {
    const full = state({ x: lease("x", "u1", 61_000, 8) });
    const r = turn(full, { leaseId: "A.slots.u2", username: "u2", slots: 1 });
    expect(r.reply).toEqual({
      ok: true,
      value: { slots: 0, userSessions: 0, accountSessions: 8, refusedBy: "account" },
    });
    expect(r.next.sessions).toEqual(full.sessions);
  });

  it.each([
    { leaseId: "", username: "u1", slots: 1 },
    { leaseId: "A.slots.u1", username: "u1", slots: -1 },
    { leaseId: "A.slots.u1", username: "u1", slots: 1.5 },
  ])("refuses an invalid request %j", (msg) => {
    const r = turn(s, msg);
    expect(r.reply).toMatchObject({ ok: false, code: "invalid_request" });
    expect(r.next).toBe(s);
  });
});

describe("session slots as credit on two nodes (one account actor)", () => {
  const LIMITS = { sessionLeaseMs: 60_000, sessionsPerUser: 4, sessionsPerAccount: 6 };

  async function setup(): Promise<{ n: Node; nodes: AccountPort[] }> {
    const n = await startNode(tempDir(cleanups));
    cleanups.push(() => n.stop());
    await n.ask("acc", { t: "create", name: "Acc", plan: plan("pro"), timezone: "UTC" });
    const nodes = ["A", "B"].map((nodeId) => {
      const p = actorAccountPort(n.system, { ...LIMITS, nodeId, now: () => n.clock.now() });
      cleanups.push(() => p.close());
      return p;
    });
    return { n, nodes };
  }

  /** Slots the actor counts (all leases, or one user's). */
  async function counted(n: Node, username?: string): Promise<number> {
    const s = await n.ask<AccountState>("acc", { t: "get" });
    return Object.values(s.sessions ?? {})
      .filter((l) => username === undefined || l.holder === username)
      .reduce((a, l) => a + (l.slots ?? 1), 0);
  }

  it("the sessions open on both never exceed the per-user and per-account limits", async () => {
    const { n, nodes } = await setup();
    const users = ["u1", "u2", "u3"];
    const open = new Map<string, number>(); // `${node}:${user}` → sessions open there
    const sum = (user?: string) =>
      [...open].filter(([k]) => user === undefined || k.endsWith(`:${user}`)).reduce((a, [, v]) => a + v, 0);
    let x = 11;
    const rnd = (k: number) => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return x % k;
    };
    let granted = 0;
    for (let round = 0; round < 25; round++) {
      const tries = Array.from({ length: 5 }, () => ({ node: rnd(2), user: users[rnd(3)] as string }));
      const answers = await Promise.all(
        tries.map((t) => (nodes[t.node] as AccountPort).acquireSession("acc", t.user)),
      );
      answers.forEach((a, i) => {
        const k = `${tries[i]?.node}:${tries[i]?.user}`;
        if (a.granted) open.set(k, (open.get(k) ?? 0) + 1);
        else expect(["user", "account"]).toContain(a.refusedBy);
      });
      granted += answers.filter((a) => a.granted).length;
      for (const u of users) expect(sum(u)).toBeLessThanOrEqual(LIMITS.sessionsPerUser);
      expect(sum()).toBeLessThanOrEqual(LIMITS.sessionsPerAccount);
      // the actor counts at least what is open, and never more than the limit
      const c = await counted(n);
      expect(c).toBeGreaterThanOrEqual(sum());
      expect(c).toBeLessThanOrEqual(LIMITS.sessionsPerAccount);
      // some sessions close; now and then the idle spare slots go back
      for (const [k, v] of open) {
        const closing = rnd(v + 1);
        const [node, user] = k.split(":") as [string, string];
        for (let i = 0; i < closing; i++) (nodes[Number(node)] as AccountPort).releaseSession("acc", user);
        open.set(k, v - closing);
      }
      if (round % 5 === 4) {
        n.clock.advance(2_000);
        await Promise.all(nodes.map((p) => p.sessions.sweep()));
        expect(await counted(n)).toBe(sum());
      }
    }
    expect(granted).toBeGreaterThan(LIMITS.sessionsPerAccount); // slots did move between nodes
    await Promise.all(nodes.map((p) => p.close()));
    expect(await counted(n)).toBe(0);
  });

  it("a slot closed on one node reaches the other once idle for idleMs", async () => {
    const { n, nodes } = await setup();
    const [a, b] = nodes as [AccountPort, AccountPort];
    const take = (p: AccountPort, user: string, k: number) =>
      Promise.all(Array.from({ length: k }, () => p.acquireSession("acc", user)));
    expect((await take(a, "u1", 4)).every((g) => g.granted)).toBe(true);
    expect((await take(a, "u2", 2)).every((g) => g.granted)).toBe(true);
    expect(await b.acquireSession("acc", "u3")).toEqual({ granted: false, refusedBy: "account" });
    a.releaseSession("acc", "u1"); // node A keeps the slot for now
    expect(await b.acquireSession("acc", "u3")).toEqual({ granted: false, refusedBy: "account" });
    expect(await counted(n, "u1")).toBe(4);
    n.clock.advance(2_000);
    await a.sessions.sweep();
    expect(await counted(n, "u1")).toBe(3);
    expect(await b.acquireSession("acc", "u3")).toEqual({ granted: true });
    expect(await counted(n)).toBe(6);
  });
});
