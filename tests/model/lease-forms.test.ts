/**
 * State written before the shared lease model (shared/model/lease.ts) still restores: the
 * account's `{ username, expiresAt }` session leases and the domain rows' `{ id, expiresAt }`.
 */
import { describe, expect, it } from "vitest";
import { liveLeases } from "../../actors/account/sessions.ts";
import type { ActorContext } from "../../actors/behavior.ts";
import { materialize } from "../../actors/changelog.ts";
import { createDomainBehavior, view } from "../../actors/domain/behavior.ts";
import type { DomainMsg, DomainState } from "../../actors/domain/protocol.ts";
import type { SessionLease } from "../../shared/model/account/protocol.ts";
import type { RecipientRecord } from "../../shared/model/recipient.ts";

describe("earlier lease forms", () => {
  it("account: a {username, expiresAt} session lease is read as a lease held by the username", () => {
    const legacy = { a: { username: "u1", expiresAt: 100 } } as unknown as Record<string, SessionLease>;
    expect(liveLeases({ ...legacy, b: { id: "b", holder: "u2", expiresAt: 100 } }, 50)).toEqual({
      a: { id: "a", holder: "u1", expiresAt: 100 },
      b: { id: "b", holder: "u2", expiresAt: 100 },
    });
  });

  it("domain: a row leased before keeps its slot after a restore and frees it on its outcome", () => {
    const b = createDomainBehavior({ concurrency: 1, leaseMs: 60_000 });
    const record = (n: number) => ({ recipientId: `m${n}.0`, accountId: "a1" }) as RecipientRecord;
    const row = (n: number, where: string, lease?: object): [string, unknown] => [
      `m${n}.0`,
      {
        record: record(n),
        attempts: lease ? 1 : 0,
        where,
        dueAt: 0,
        queuedAt: n,
        ...(lease ? { lease } : {}),
      },
    ];
    const s = materialize(b, {
      v: 2,
      state: { domain: "d.test", circuit: { failures: 0 }, seq: 2 },
      timers: [],
      offset: 0,
      tables: {
        entries: [row(0, "inflight", { id: "m0.0#1", expiresAt: 5_000 }), row(1, "ready")],
        delivered: [],
      },
    }) as DomainState;
    expect([...s.index.inflight.values()]).toEqual([{ id: "m0.0#1", holder: "m0.0", expiresAt: 5_000 }]);
    expect(view(s, 0)).toMatchObject({ inflight: 1, ready: 1 });
    const attempts: { lease: string }[] = [];
    const ctx = {
      key: "domain:d.test",
      id: "d.test",
      now: 1_000,
      reply: () => {},
      setTimer: () => {},
      cancelTimer: () => {},
      timers: () => new Map(),
      send: () => {},
      emit: (topic: string, _k: string, v: Uint8Array) => {
        if (topic === "delivery.attempts") attempts.push(JSON.parse(new TextDecoder().decode(v)));
      },
    } as ActorContext<DomainMsg>;
    const out = {
      recipientId: "m0.0",
      lease: "m0.0#1",
      result: "delivered",
      reason: "none",
      remoteReply: "250",
      mxHost: "mx",
    };
    const next = b.receive(s, { t: "outcome", outcome: out } as DomainMsg, ctx);
    expect(attempts.map((a) => a.lease)).toEqual(["m1.0#1"]);
    expect([...next.index.inflight.keys()]).toEqual(["m1.0#1"]);
  });
});
