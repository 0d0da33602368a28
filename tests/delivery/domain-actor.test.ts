/**
 * The domain actor's transition as a pure function (D5, D6, D7): a recording context stands in
 * for the runtime, time is a number. Slots, the ready queue, stale outcomes, lease expiry, the
 * retry schedule, the circuit and delayed bounces, case by case; and the state's round trip
 * through its changelog form (head + table rows) and a rolled-back transition.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ActorContext } from "../../actors/behavior.ts";
import { materialize } from "../../actors/changelog.ts";
import { createDomainBehavior, view } from "../../actors/domain/behavior.ts";
import type { AttemptRequest, DomainMsg, DomainState, Outcome } from "../../actors/domain/protocol.ts";
import { runTransition } from "../../actors/transition.ts";
import type { StatusEvent } from "../../shared/model/event.ts";
import type { RecipientRecord } from "../../shared/model/recipient.ts";

const T0 = Date.UTC(2026, 0, 15);

class Rec {
  now = T0;
  attempts: AttemptRequest[] = [];
  events: StatusEvent[] = [];
  sends: { key: string; msg: unknown }[] = [];
  /** `content.delete` records (X5): the content references, as emitted. */
  deletions: string[] = [];
  timerMap = new Map<string, { at: number; msg: DomainMsg }>();
  replies: unknown[] = [];
  ctx(): ActorContext<DomainMsg> {
    const dec = (v: Uint8Array) => JSON.parse(new TextDecoder().decode(v));
    return {
      key: "domain:d.test",
      id: "d.test",
      now: this.now,
      reply: (v) => this.replies.push(v),
      setTimer: (name, at, msg) => this.timerMap.set(name, { at, msg }),
      cancelTimer: (name) => this.timerMap.delete(name),
      timers: () => new Map([...this.timerMap].map(([k, v]) => [k, v.at])),
      send: (key, msg) => this.sends.push({ key, msg }),
      emit: (topic, _key, value) => {
        if (topic === "delivery.attempts") this.attempts.push(dec(value));
        else if (topic === "content.delete") this.deletions.push(new TextDecoder().decode(value));
        else this.events.push(dec(value));
      },
    };
  }
}

const record = (n: number): RecipientRecord => ({
  recipientId: `m${n}.0`,
  messageId: `m${n}`,
  accountId: "a1",
  smtpUser: "u",
  sender: "s@x.test",
  recipient: `r${n}@d.test`,
  recipientDomain: "d.test",
  sendingDomain: "x.test",
  subject: "s",
  contentRef: "c",
  size: 1,
  smtputf8: false,
  eightBit: false,
  isTest: false,
  acceptedAt: T0,
});

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function setup(opts = {}) {
  // No prefetch unless a test asks for it: in flight = concurrency, as the slot tests count.
  const b = createDomainBehavior({ concurrency: 2, prefetch: 0, leaseMs: 60_000, ...opts });
  const rec = new Rec();
  let s: DomainState = b.initial("d.test");
  // The transition must not change the head it was given (deep-frozen before each call); only
  // its tables change in place, by design (actors/table.ts).
  const send = (m: DomainMsg) => {
    s = b.receive(deepFreeze(s), m, rec.ctx());
  };
  const outcome = (req: AttemptRequest, o: Partial<Outcome>) =>
    send({
      t: "outcome",
      outcome: {
        recipientId: req.record.recipientId,
        lease: req.lease,
        result: "delivered",
        reason: "none",
        remoteReply: "250 ok",
        mxHost: "mx.d.test",
        ...o,
      },
    });
  /** Fires due timers up to `at` (in time order). */
  const advance = (at: number) => {
    for (;;) {
      const due = [...rec.timerMap].filter(([, t]) => t.at <= at).sort((x, y) => x[1].at - y[1].at)[0];
      if (!due) break;
      rec.timerMap.delete(due[0]);
      rec.now = due[1].at;
      send(due[1].msg);
    }
    rec.now = at;
  };
  return { b, rec, send, outcome, advance, state: () => s };
}

describe("domain actor transition", () => {
  it("grants at most `concurrency` slots; the rest waits; a result frees a slot (D5)", () => {
    const { rec, send, outcome, state } = setup();
    for (let i = 0; i < 5; i++) send({ t: "recipient", record: record(i) });
    expect(rec.attempts.map((a) => a.record.recipientId)).toEqual(["m0.0", "m1.0"]);
    expect([...state().index.ready.keys()]).toEqual(["m2.0", "m3.0", "m4.0"]);
    expect(rec.events.filter((e) => e.status === "Pending")).toHaveLength(5);
    outcome(rec.attempts[0] as AttemptRequest, {});
    expect(rec.attempts.map((a) => a.record.recipientId)).toEqual(["m0.0", "m1.0", "m2.0"]);
  });

  it("with a prefetch, hands out `concurrency × (1 + prefetch)` attempts once the domain answers, `concurrency` while it does not (D5)", () => {
    const { rec, send, outcome, state } = setup({ prefetch: 2 });
    for (let i = 0; i < 9; i++) send({ t: "recipient", record: record(i) });
    const ids = () => rec.attempts.map((a) => a.record.recipientId);
    // A domain not heard from yet: no more attempts than connections.
    expect(ids()).toEqual(["m0.0", "m1.0"]);
    // It answered: 2 connections and 2 attempts ahead for each, six in flight, the rest in order.
    outcome(rec.attempts[0] as AttemptRequest, {});
    expect(ids()).toEqual(["m0.0", "m1.0", "m2.0", "m3.0", "m4.0", "m5.0", "m6.0"]);
    expect(view(state(), T0)).toMatchObject({ ready: 2, inflight: 6 });
    // Each still asks the workers for the domain's connection limit, not the attempts in flight.
    expect(new Set(rec.attempts.map((a) => a.concurrency))).toEqual(new Set([2]));
    // Every MX failed: no more ahead of the connections while it does not answer.
    const unreachable = { result: "defer", reason: "connection_failed", allMxFailed: true } as const;
    outcome(rec.attempts[1] as AttemptRequest, unreachable);
    outcome(rec.attempts[2] as AttemptRequest, unreachable);
    expect(ids()).toHaveLength(7);
    expect(view(state(), T0)).toMatchObject({ ready: 2, inflight: 4 });
    // It answers again: ahead again.
    outcome(rec.attempts[3] as AttemptRequest, {});
    expect(ids()).toEqual(["m0.0", "m1.0", "m2.0", "m3.0", "m4.0", "m5.0", "m6.0", "m7.0", "m8.0"]);
    expect(view(state(), T0)).toMatchObject({ ready: 0, inflight: 5 });
  });

  it("never has more than `concurrency × (1 + prefetch)` in flight, nor hands out more than `concurrency` while the domain does not answer (property)", () => {
    type Op = { t: "rcpt" } | { t: "out"; pick: number; kind: "ok" | "dead" | "temp" };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ t: "rcpt" as const }),
      fc.record({
        t: fc.constant("out" as const),
        pick: fc.nat(),
        kind: fc.constantFrom("ok" as const, "dead" as const, "temp" as const),
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(op, { maxLength: 80 }),
        (concurrency, prefetch, ops) => {
          // Circuit out of the way: this is about slots; the circuit has its own tests.
          const { rec, send, outcome, state } = setup({ concurrency, prefetch, circuitThreshold: 1_000 });
          const answered = new Set<string>();
          let n = 0;
          let warm = false;
          for (const o of ops) {
            const before = rec.attempts.length;
            if (o.t === "rcpt") send({ t: "recipient", record: record(n++) });
            else {
              const open = rec.attempts.filter((a) => !answered.has(a.lease));
              const a = open[o.pick % Math.max(1, open.length)];
              if (!a) continue;
              answered.add(a.lease);
              if (o.kind === "ok") outcome(a, {});
              else if (o.kind === "temp") outcome(a, { result: "defer", reason: "remote_temporary" });
              else outcome(a, { result: "defer", reason: "connection_failed", allMxFailed: true });
              warm = o.kind !== "dead";
            }
            const inflight = view(state(), T0).inflight;
            expect(inflight).toBeLessThanOrEqual(concurrency * (1 + prefetch));
            // Attempts handed out in a step where the domain had not answered keep it at `concurrency`.
            if (!warm && rec.attempts.length > before) expect(inflight).toBeLessThanOrEqual(concurrency);
            for (const a of rec.attempts.slice(before)) expect(a.concurrency).toBe(concurrency);
          }
        },
      ),
    );
  });

  it("serves a backlog first in, first out, a retried recipient at the back", () => {
    const { rec, send, outcome, advance, state } = setup({
      backoff: { baseMs: 1_000, maxMs: 1_000, jitter: 0 },
    });
    for (let i = 0; i < 6; i++) send({ t: "recipient", record: record(i) });
    outcome(rec.attempts[0] as AttemptRequest, { result: "defer", reason: "remote_temporary" });
    advance(T0 + 1_000); // m0.0's retry is due: it queues behind m3..m5
    expect([...state().index.ready.keys()]).toEqual(["m3.0", "m4.0", "m5.0", "m0.0"]);
    const answered = new Set([rec.attempts[0]?.lease]);
    for (let n = 0; n < 6; n++) {
      const next = rec.attempts.find((a) => !answered.has(a.lease)) as AttemptRequest;
      answered.add(next.lease);
      outcome(next, {});
    }
    expect(rec.attempts.map((a) => a.record.recipientId)).toEqual([
      "m0.0",
      "m1.0",
      "m2.0",
      "m3.0",
      "m4.0",
      "m5.0",
      "m0.0",
    ]);
    expect(view(state(), T0)).toMatchObject({ ready: 0, inflight: 0, scheduled: 0, delivered: 6 });
  });

  it("comes back the same from its changelog form: head + rows, index rebuilt in queue order", () => {
    const { b, rec, send, outcome, state } = setup();
    for (let i = 0; i < 7; i++) send({ t: "recipient", record: record(i) });
    outcome(rec.attempts[0] as AttemptRequest, {});
    outcome(rec.attempts[1] as AttemptRequest, { result: "defer", reason: "remote_temporary" });
    const s = state();
    const rows = (t: { entries(): IterableIterator<[string, unknown]> }) =>
      JSON.parse(JSON.stringify([...t.entries()]));
    // What the runtime writes (JSON) and reads back.
    const head = JSON.parse(JSON.stringify(b.encode?.(s)));
    expect(head).not.toHaveProperty("entries"); // rows travel apart from the head
    const back = materialize(b, {
      v: 2,
      state: head,
      timers: [],
      offset: 0,
      tables: { entries: rows(s.entries), delivered: rows(s.delivered) },
    }) as DomainState;
    expect(view(back, T0)).toEqual(view(s, T0));
    expect([...back.index.ready.keys()]).toEqual([...s.index.ready.keys()]);
    expect([...back.index.inflight].sort()).toEqual([...s.index.inflight].sort());
    expect(back.seq).toBe(s.seq);
  });

  it("a transition that throws changes nothing: rows rolled back, index rebuilt", () => {
    const { b, send, state } = setup();
    send({ t: "recipient", record: record(0) }); // one slot of two in use
    const s = state();
    const before = {
      view: view(s, T0),
      ready: [...s.index.ready.keys()],
      rows: JSON.stringify([...s.entries.entries()]),
    };
    // A record whose attempt request cannot be encoded: the transition writes its row, queues it,
    // grants it the free slot, then throws while emitting the request.
    const poisoned = { ...record(9), contentRef: 1n as unknown as string };
    const result = runTransition(
      b,
      { key: "domain:d.test", id: "d.test", state: s },
      { t: "recipient", record: poisoned },
      T0,
      new Map(),
    );
    expect(result.failed).toBe(true);
    expect(view(s, T0)).toEqual(before.view);
    expect([...s.index.ready.keys()]).toEqual(before.ready);
    expect(JSON.stringify([...s.entries.entries()])).toBe(before.rows);
  });

  it("ignores a stale or duplicate outcome and a redelivered record", () => {
    const { rec, send, outcome } = setup();
    send({ t: "recipient", record: record(1) });
    send({ t: "recipient", record: record(1) });
    expect(rec.attempts).toHaveLength(1);
    const req = rec.attempts[0] as AttemptRequest;
    outcome({ ...req, lease: "other" }, {});
    expect(rec.events.map((e) => e.status)).toEqual(["Pending"]);
    outcome(req, {});
    outcome(req, {});
    expect(rec.events.map((e) => e.status)).toEqual(["Pending", "Delivered"]);
  });

  it("takes a slot back when its lease expires and tries again", () => {
    const { rec, send, advance, outcome } = setup();
    send({ t: "recipient", record: record(1) });
    advance(T0 + 60_000);
    expect(rec.attempts.map((a) => a.lease)).toEqual(["m1.0#1", "m1.0#2"]);
    outcome(rec.attempts[0] as AttemptRequest, {}); // the lost worker's late answer is stale
    expect(rec.events.map((e) => e.status)).toEqual(["Pending"]);
  });

  it("defers on the backoff schedule, then soft-bounces past the retry period (D6)", () => {
    const { rec, send, outcome, advance } = setup({
      maxRetryMs: 10 * 60_000,
      backoff: { baseMs: 60_000, maxMs: 600_000, jitter: 0 },
    });
    send({ t: "recipient", record: record(1) });
    const reply = "451 4.3.0 later";
    for (let i = 0; i < 10 && !rec.events.some((e) => e.status === "SoftBounce"); i++) {
      outcome(rec.attempts.at(-1) as AttemptRequest, {
        result: "defer",
        reason: "remote_temporary",
        remoteReply: reply,
      });
      const retry = rec.timerMap.get("retry:m1.0");
      if (retry) advance(retry.at); // the retry only, before the next lease could expire
    }
    // 1 min, 2 min, 4 min after each failure; the 4th failure would retry past 10 min
    expect(rec.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    const statuses = rec.events.map((e) => `${e.status}:${e.attempt}`);
    expect(statuses).toEqual(["Pending:0", "Deferred:1", "Deferred:2", "Deferred:3", "SoftBounce:4"]);
    const soft = rec.events.at(-1) as StatusEvent;
    expect([soft.reason, soft.remoteReply]).toEqual(["retry_period_expired", reply]);
  });

  it("a hard bounce suppresses; a soft bounce (policy block) does not (D8)", () => {
    const { rec, send, outcome } = setup();
    send({ t: "recipient", record: record(1) });
    send({ t: "recipient", record: record(2) });
    const [a, b] = rec.attempts as [AttemptRequest, AttemptRequest];
    outcome(a, { result: "hard", reason: "unknown_user", remoteReply: "550 5.1.1 no" });
    outcome(b, { result: "soft", reason: "blocklisted", remoteReply: "554 5.7.1 blocked" });
    expect(rec.sends).toEqual([
      { key: "suppression:a1", msg: expect.objectContaining({ t: "add", address: "r1@d.test" }) },
    ]);
  });

  it("X5: the only recipient of a message deletes its content from its final turn; others tell the ledger", () => {
    const { rec, send, outcome } = setup({ batchRecipients: 1 });
    send({ t: "recipient", record: { ...record(1), contentRef: "ref-1", recipients: 1 } });
    const two = (i: number): RecipientRecord => ({
      ...record(2),
      recipientId: `m2.${i}`,
      recipient: `r2.${i}@d.test`,
      contentRef: "ref-2",
      recipients: 2,
    });
    send({ t: "recipient", record: two(0) });
    send({ t: "recipient", record: two(1) });
    for (let i = 0; i < rec.attempts.length; i++) outcome(rec.attempts[i] as AttemptRequest, {});
    expect(rec.events.filter((e) => e.status === "Delivered")).toHaveLength(3);
    expect(rec.deletions).toEqual(["ref-1"]);
    expect(rec.sends).toEqual([
      {
        key: expect.stringMatching(/^content:/),
        msg: expect.objectContaining({ t: "final", recipientId: "m2.0" }),
      },
      {
        key: expect.stringMatching(/^content:/),
        msg: expect.objectContaining({ t: "final", recipientId: "m2.1" }),
      },
    ]);
  });

  it("opens the circuit after repeated all-MX failures and closes it later", () => {
    const { rec, send, outcome, advance, state } = setup({ circuitThreshold: 2, circuitOpenMs: 300_000 });
    for (let i = 0; i < 3; i++) send({ t: "recipient", record: record(i) });
    const fail = { result: "defer" as const, reason: "connection_failed" as const, allMxFailed: true };
    outcome(rec.attempts[0] as AttemptRequest, fail);
    outcome(rec.attempts[1] as AttemptRequest, fail);
    expect(state().circuit.openUntil).toBe(T0 + 300_000);
    const granted = rec.attempts.length;
    advance(T0 + 200_000); // retries due, but the circuit holds them
    expect(rec.attempts.length).toBe(granted);
    advance(T0 + 300_000);
    expect(rec.attempts.length).toBeGreaterThan(granted);
    expect(state().circuit.openUntil).toBeUndefined();
  });

  it("turns a Delivered recipient into a bounce on a delayed report, once (D7)", () => {
    const { rec, send, outcome } = setup();
    send({ t: "recipient", record: record(1) });
    outcome(rec.attempts[0] as AttemptRequest, {});
    const bounce = {
      recipientId: "m1.0",
      result: "hard" as const,
      reason: "unknown_user" as const,
      remoteReply: "5.1.1",
      mxHost: "",
    };
    send({ t: "bounce", bounce });
    send({ t: "bounce", bounce });
    expect(rec.events.map((e) => e.status)).toEqual(["Pending", "Delivered", "HardBounce"]);
    expect(rec.sends).toHaveLength(1);
  });

  it("remembers Delivered recipients for delayed bounces within a bounded window", () => {
    const { rec, send, outcome, state } = setup({ deliveredLimit: 2 });
    for (let i = 1; i <= 3; i++) {
      send({ t: "recipient", record: record(i) });
      outcome(rec.attempts.at(-1) as AttemptRequest, {});
    }
    expect([...state().delivered.keys()]).toEqual(["m2.0", "m3.0"]);
    expect(state().delivered.get("m3.0")?.record.contentRef).toBe("-");
    const bounce = (id: string) =>
      send({
        t: "bounce",
        bounce: { recipientId: id, result: "soft", reason: "mailbox_full", remoteReply: "", mxHost: "" },
      });
    bounce("m1.0");
    bounce("m3.0");
    expect(rec.events.filter((e) => e.status === "SoftBounce").map((e) => e.recipientId)).toEqual(["m3.0"]);
  });
});
