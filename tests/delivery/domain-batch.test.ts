/**
 * The domain actor's transition for delivery per message (D1, issue 16), as a pure function: a
 * recording context stands in for the runtime. A message's records wait for each other (at most
 * `gatherMs`), then take one slot and one attempt; each recipient settles on its own outcome
 * (Delivered, Deferred with its own timer, HardBounce), a transaction counts once for the circuit,
 * and a delayed bounce to the message's Return-Path finds the recipient by its address; a message
 * whose recipients all end together here has its content deleted from that turn (X5).
 */
import { describe, expect, it } from "vitest";
import type { ActorContext } from "../../actors/behavior.ts";
import { createDomainBehavior, view } from "../../actors/domain/behavior.ts";
import type { AttemptRequest, DomainMsg, DomainState, Outcome } from "../../actors/domain/protocol.ts";
import type { StatusEvent } from "../../shared/model/event.ts";
import type { RecipientRecord } from "../../shared/model/recipient.ts";

const T0 = Date.UTC(2026, 0, 15);

function setup(opts = {}) {
  const b = createDomainBehavior({
    concurrency: 2,
    leaseMs: 60_000,
    batchRecipients: 50,
    gatherMs: 20,
    backoff: { baseMs: 1_000, maxMs: 1_000, jitter: 0 },
    ...opts,
  });
  const attempts: AttemptRequest[] = [];
  const events: StatusEvent[] = [];
  const sends: { key: string; msg: unknown }[] = [];
  /** `content.delete` records (X5): the content references, as emitted. */
  const deletions: string[] = [];
  const timers = new Map<string, { at: number; msg: DomainMsg }>();
  let now = T0;
  let s: DomainState = b.initial("d.test");
  const dec = (v: Uint8Array) => JSON.parse(new TextDecoder().decode(v));
  const ctx = (): ActorContext<DomainMsg> => ({
    key: "domain:d.test",
    id: "d.test",
    now,
    reply: () => {},
    setTimer: (name, at, msg) => timers.set(name, { at, msg }),
    cancelTimer: (name) => timers.delete(name),
    timers: () => new Map([...timers].map(([k, v]) => [k, v.at])),
    send: (key, msg) => sends.push({ key, msg }),
    emit: (topic, _key, value) => {
      if (topic === "delivery.attempts") attempts.push(dec(value));
      else if (topic === "content.delete") deletions.push(new TextDecoder().decode(value));
      else events.push(dec(value));
    },
  });
  const send = (m: DomainMsg) => {
    s = b.receive(s, m, ctx());
  };
  const advance = (at: number) => {
    for (;;) {
      const due = [...timers].filter(([, t]) => t.at <= at).sort((x, y) => x[1].at - y[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      now = due[1].at;
      send(due[1].msg);
    }
    now = at;
  };
  const statuses = (id: string) => events.filter((e) => e.recipientId === id).map((e) => e.status);
  return {
    attempts,
    events,
    sends,
    deletions,
    timers,
    send,
    advance,
    statuses,
    state: () => s,
    now: () => now,
  };
}

/** Recipient `seq` of message `m` (which has `of` records in all). */
const record = (m: string, seq: number, of: number, user = `r${seq}`): RecipientRecord => ({
  recipientId: `${m}.${seq}`,
  messageId: m,
  accountId: "a1",
  smtpUser: "u",
  sender: "s@x.test",
  recipient: `${user}@d.test`,
  recipientDomain: "d.test",
  sendingDomain: "x.test",
  subject: "s",
  contentRef: `c-${m}`,
  size: 1,
  smtputf8: false,
  eightBit: false,
  isTest: false,
  acceptedAt: T0,
  recipients: of,
});

const outcomeOf = (req: AttemptRequest, r: RecipientRecord, o: Partial<Outcome> = {}): Outcome => ({
  recipientId: r.recipientId,
  lease: req.lease,
  result: "delivered",
  reason: "none",
  remoteReply: "250 2.0.0 queued",
  mxHost: "mx.d.test",
  ...o,
});

/** A message's records arrive, then one transaction's outcomes: each delivered but recipient `odd`'s, which is `o`. */
function oneTransaction(
  t: ReturnType<typeof setup>,
  recs: RecipientRecord[],
  odd: number,
  o: Partial<Outcome>,
) {
  for (const r of recs) t.send({ t: "recipient", record: r });
  const req = t.attempts[0] as AttemptRequest;
  t.send({ t: "outcomes", outcomes: recs.map((r, i) => outcomeOf(req, r, i === odd ? o : {})) });
}

describe("domain actor: delivery per message", () => {
  it("a message's five records wait for each other, then go in one attempt on one slot", () => {
    const t = setup();
    for (let i = 0; i < 4; i++) t.send({ t: "recipient", record: record("m1", i, 5) });
    expect(t.attempts).toHaveLength(0);
    t.send({ t: "recipient", record: record("m1", 4, 5) });
    expect(t.attempts).toHaveLength(1);
    const req = t.attempts[0] as AttemptRequest;
    expect(req.records?.map((r) => r.recipientId)).toEqual(["m1.0", "m1.1", "m1.2", "m1.3", "m1.4"]);
    expect(view(t.state(), t.now()).inflight).toBe(1); // one slot for the transaction
    expect(t.timers.has("gather:m1")).toBe(false);
    expect([...t.timers.keys()].filter((k) => k.startsWith("lease:"))).toHaveLength(5);
  });

  it("each recipient settles on its own outcome: Delivered, HardBounce (suppressed), Deferred retried alone", () => {
    const t = setup();
    const recs = [0, 1, 2, 3, 4].map((i) => record("m1", i, 5));
    for (const r of recs) t.send({ t: "recipient", record: r });
    const req = t.attempts[0] as AttemptRequest;
    const [a, b, c, d, e] = recs as [
      RecipientRecord,
      RecipientRecord,
      RecipientRecord,
      RecipientRecord,
      RecipientRecord,
    ];
    t.send({
      t: "outcomes",
      outcomes: [
        outcomeOf(req, a),
        outcomeOf(req, b, { result: "hard", reason: "unknown_user", remoteReply: "550 5.1.1 unknown" }),
        outcomeOf(req, c),
        outcomeOf(req, d, { result: "defer", reason: "remote_temporary", remoteReply: "450 4.2.0 busy" }),
        outcomeOf(req, e),
      ],
    });
    for (const r of [a, c, e]) expect(t.statuses(r.recipientId)).toEqual(["Pending", "Delivered"]);
    expect(t.statuses(b.recipientId)).toEqual(["Pending", "HardBounce"]);
    expect(t.sends.filter((x) => x.key === "suppression:a1")).toHaveLength(1);
    expect(t.statuses(d.recipientId)).toEqual(["Pending", "Deferred"]);
    expect(view(t.state(), t.now()).inflight).toBe(0);
    // The retry is the deferred recipient's alone, attempt 2.
    t.advance(T0 + 1_000);
    const retry = t.attempts[1] as AttemptRequest;
    expect(retry.record.recipientId).toBe(d.recipientId);
    expect(retry.records).toBeUndefined();
    expect(retry.attempt).toBe(2);
  });

  it("X5: a message whose every recipient ends in one transaction here deletes its content from that turn, without the ledger", () => {
    const t = setup();
    const recs = [0, 1, 2, 3, 4].map((i) => record("m6", i, 5));
    // a delivery and a hard bounce are both final
    oneTransaction(t, recs, 2, { result: "hard", reason: "unknown_user", remoteReply: "550 5.1.1" });
    expect(t.deletions).toEqual(["c-m6"]);
    expect(t.sends.filter((x) => x.key.startsWith("content:"))).toEqual([]);
  });

  it("X5: while a recipient of the message is still open, or at another domain, the ended ones go to the ledger", () => {
    const t = setup();
    const recs = [0, 1, 2].map((i) => record("m7", i, 3));
    oneTransaction(t, recs, 1, { result: "defer", reason: "remote_temporary", remoteReply: "451 4.3.0" });
    const finals = () =>
      t.sends
        .filter((x) => x.key.startsWith("content:"))
        .map((x) => (x.msg as { recipientId: string }).recipientId);
    expect(finals()).toEqual(["m7.0", "m7.2"]);
    t.advance(T0 + 1_000);
    const retry = t.attempts[1] as AttemptRequest;
    t.send({ t: "outcome", outcome: outcomeOf(retry, recs[1] as RecipientRecord) });
    expect(finals()).toEqual(["m7.0", "m7.2", "m7.1"]); // the ledger counts the third and deletes
    expect(t.deletions).toEqual([]);
    // Two of a message's three records here, the third at another domain: the ledger counts.
    const u = setup();
    const two = [0, 2].map((i) => record("m8", i, 3));
    for (const r of two) u.send({ t: "recipient", record: r });
    u.advance(T0 + 20);
    const req8 = u.attempts[0] as AttemptRequest;
    u.send({ t: "outcomes", outcomes: two.map((r) => outcomeOf(req8, r)) });
    expect(u.deletions).toEqual([]);
    expect(u.sends.filter((x) => x.key.startsWith("content:"))).toHaveLength(2);
  });

  it("a message whose other records go to other domains waits `gatherMs`, then goes with what is here", () => {
    const t = setup();
    t.send({ t: "recipient", record: record("m2", 0, 3) });
    t.send({ t: "recipient", record: record("m2", 2, 3) });
    expect(t.attempts).toHaveLength(0);
    t.advance(T0 + 20);
    expect(t.attempts).toHaveLength(1);
    expect(t.attempts[0]?.records?.map((r) => r.recipientId)).toEqual(["m2.0", "m2.2"]);
  });

  it("takes at most `batchRecipients` per attempt; 1 is an attempt per recipient", () => {
    const two = setup({ batchRecipients: 2, concurrency: 10 });
    for (let i = 0; i < 5; i++) two.send({ t: "recipient", record: record("m3", i, 5) });
    two.advance(T0 + 20); // the fifth waited for a partner
    expect(two.attempts.map((a) => (a.records ?? [a.record]).length)).toEqual([2, 2, 1]);
    const one = setup({ batchRecipients: 1, concurrency: 10 });
    for (let i = 0; i < 5; i++) one.send({ t: "recipient", record: record("m3", i, 5) });
    expect(one.attempts.map((a) => a.records?.length ?? 1)).toEqual([1, 1, 1, 1, 1]);
  });

  it("a transaction whose MX hosts all failed counts once for the circuit", () => {
    const t = setup({ circuitThreshold: 2 });
    const recs = [0, 1, 2].map((i) => record("m4", i, 3));
    for (const r of recs) t.send({ t: "recipient", record: r });
    const req = t.attempts[0] as AttemptRequest;
    const failed = { result: "defer", reason: "connection_failed", allMxFailed: true } as const;
    t.send({ t: "outcomes", outcomes: recs.map((r) => outcomeOf(req, r, failed)) });
    expect(t.state().circuit).toEqual({ failures: 1 });
  });

  it("a delayed bounce to the message's Return-Path bounces the recipient its report names, never a guess", () => {
    const t = setup();
    const recs = [0, 1, 2].map((i) => record("m5", i, 3));
    for (const r of recs) t.send({ t: "recipient", record: r });
    const req = t.attempts[0] as AttemptRequest;
    t.send({ t: "outcomes", outcomes: recs.map((r) => outcomeOf(req, r)) });
    const bounce = {
      result: "hard",
      reason: "unknown_user",
      remoteReply: "550 5.1.1",
      mxHost: "mx",
    } as const;
    // An address that is none of the message's recipients here: nothing happens.
    t.send({ t: "bounce", bounce: { ...bounce, messageId: "m5", addresses: ["other@d.test"] } });
    expect(t.events.filter((e) => e.status === "HardBounce")).toHaveLength(0);
    t.send({ t: "bounce", bounce: { ...bounce, messageId: "m5", addresses: ["rfc822; R1@D.test"] } });
    expect(t.statuses("m5.1")).toEqual(["Pending", "Delivered", "HardBounce"]);
    expect(t.statuses("m5.0")).toEqual(["Pending", "Delivered"]);
    expect(t.statuses("m5.2")).toEqual(["Pending", "Delivered"]);
  });
});
