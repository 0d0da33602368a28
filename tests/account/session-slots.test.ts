/**
 * S4 session slots as credit (issue 16), the account actor's side: `sessionCredit` sets a node's
 * block of one user's slots (a lease weighing several) within the per-user and per-account limits,
 * counting every other lease — pure transitions on a literal state and `ctx.now`.
 */
import { describe, expect, it } from "vitest";
import { sessionCredit } from "../../actors/account/sessions.ts";
import { type Ctx, initialAccount } from "../../actors/account/state.ts";
import type {
  AccountMsg,
  AccountReply,
  AccountState,
  SessionLease,
} from "../../shared/model/account/protocol.ts";

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
