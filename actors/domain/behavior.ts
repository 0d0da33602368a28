/**
 * The domain actor (D1, D5, D6, D7): a pure transition over `DomainState`. A recipient arrives
 * (`Pending`), waits in the ready queue, gets a slot lease and an attempt request for a worker;
 * the worker's outcome makes it `Delivered`, `Deferred` (with a durable retry timer on the
 * backoff schedule), `SoftBounce` (past the retry period or by classification) or `HardBounce`
 * (and suppressed). A lease that outlives its TTL (a dead worker) returns its slot and re-queues
 * the recipient. Slots are refilled on events (outcome, timer), not only on timers.
 */

import { STATUS_EVENTS_TOPIC } from "../../shared/model/event.ts";
import type { RecipientRecord } from "../../shared/model/recipient.ts";
import { suppressionKey } from "../account/suppression.ts";
import type { ActorContext, Behavior } from "../behavior.ts";
import { type BackoffPolicy, DEFAULT_BACKOFF, delayForAttempt, isExpired, jitterUnit } from "./backoff.ts";
import { type EventFacts, encode, statusEvent } from "./events.ts";
import {
  type AttemptRequest,
  DELIVERY_ATTEMPTS_TOPIC,
  type DelayedBounce,
  type DeliveredEntry,
  type DomainMsg,
  type DomainState,
  type DomainView,
  type Entry,
  type Outcome,
} from "./protocol.ts";

export interface DomainOptions {
  /** Concurrent attempts (and connections) per recipient domain (D5). */
  concurrency: number;
  /** Bound of the ready queue; the rest waits in the scheduled set. */
  readyLimit: number;
  maxRetryMs: number;
  backoff: BackoffPolicy;
  /** How long a worker may hold a slot before it is taken back. */
  leaseMs: number;
  /** Consecutive attempts with every MX unreachable that open the circuit, and for how long. */
  circuitThreshold: number;
  circuitOpenMs: number;
  /** How long, and how many per domain, Delivered recipients are remembered for a delayed bounce. */
  deliveredKeepMs: number;
  deliveredLimit: number;
  partitions: number;
}

export const DEFAULT_DOMAIN_OPTIONS: DomainOptions = {
  concurrency: 10,
  readyLimit: 1_000,
  maxRetryMs: 72 * 3_600_000,
  backoff: DEFAULT_BACKOFF,
  leaseMs: 10 * 60_000,
  circuitThreshold: 5,
  circuitOpenMs: 5 * 60_000,
  deliveredKeepMs: 3 * 86_400_000,
  deliveredLimit: 500,
  partitions: 8,
};

type Ctx = ActorContext<DomainMsg>;

function publish(ctx: Ctx, e: Entry, f: Omit<EventFacts, "ts">): void {
  ctx.emit(STATUS_EVENTS_TOPIC, e.record.accountId, encode(statusEvent(e.record, { ...f, ts: ctx.now })));
}

function inflight(s: DomainState): number {
  let n = 0;
  for (const e of Object.values(s.entries)) if (e.where === "inflight") n++;
  return n;
}

/**
 * A copy to change: containers are copied, entries only when touched (copy-on-write), so a
 * transition costs O(entries) pointer copies rather than a deep clone of every record.
 */
function draft(state: DomainState): DomainState {
  return {
    ...state,
    entries: { ...state.entries },
    ready: [...state.ready],
    delivered: { ...state.delivered },
    circuit: { ...state.circuit },
  };
}

function touch(s: DomainState, id: string): Entry {
  const copy = { ...(s.entries[id] as Entry) };
  s.entries[id] = copy;
  return copy;
}

/** Fills free slots from the ready queue, and the ready queue from due scheduled entries. */
function pump(s: DomainState, ctx: Ctx, o: DomainOptions): DomainState {
  if (s.circuit.openUntil !== undefined && s.circuit.openUntil > ctx.now) return s;
  let free = o.concurrency - inflight(s);
  const ready = [...s.ready];
  while (free > 0 && ready.length > 0) {
    const id = ready.shift() as string;
    if (s.entries[id]?.where !== "ready") continue;
    const e = touch(s, id);
    e.attempts += 1;
    const lease = `${id}#${e.attempts}`;
    e.where = "inflight";
    e.lease = { id: lease, expiresAt: ctx.now + o.leaseMs };
    ctx.setTimer(`lease:${id}`, e.lease.expiresAt, { t: "leaseExpired", recipientId: id, lease });
    const req: AttemptRequest = {
      domain: s.domain,
      record: e.record,
      attempt: e.attempts,
      lease,
      concurrency: o.concurrency,
    };
    ctx.emit(DELIVERY_ATTEMPTS_TOPIC, s.domain, encode(req));
    free--;
  }
  // Scheduled entries that are due (timers already fired while the queue was full) move up.
  for (const [id, e] of Object.entries(s.entries)) {
    if (ready.length >= o.readyLimit) break;
    if (e.where === "scheduled" && e.dueAt <= ctx.now && !ctx.timers().has(`retry:${id}`)) {
      touch(s, id).where = "ready";
      ready.push(id);
    }
  }
  return { ...s, ready };
}

function enqueue(s: DomainState, id: string, ctx: Ctx, o: DomainOptions): void {
  const e = touch(s, id);
  if (s.ready.length < o.readyLimit) {
    e.where = "ready";
    s.ready.push(id);
  } else {
    e.where = "scheduled";
    e.dueAt = ctx.now;
  }
}

function onOutcome(s: DomainState, out: Outcome, ctx: Ctx, o: DomainOptions): DomainState {
  const current = s.entries[out.recipientId];
  if (current?.where !== "inflight" || current.lease?.id !== out.lease) return s; // stale or duplicate
  const e = touch(s, out.recipientId);
  ctx.cancelTimer(`lease:${out.recipientId}`);
  e.lease = undefined;
  const attempt = e.attempts;
  const facts = { reason: out.reason, remoteReply: out.remoteReply, mxHost: out.mxHost, attempt };
  s.circuit = out.allMxFailed
    ? { failures: s.circuit.failures + 1, ...(s.circuit.openUntil ? { openUntil: s.circuit.openUntil } : {}) }
    : { failures: 0 };
  if (s.circuit.failures >= o.circuitThreshold && s.circuit.openUntil === undefined) {
    s.circuit.openUntil = ctx.now + o.circuitOpenMs;
    ctx.setTimer("circuit", s.circuit.openUntil, { t: "circuitClose" });
  }
  if (out.result === "delivered") {
    publish(ctx, e, { ...facts, status: "Delivered", reason: "none" });
    remember(
      s,
      out.recipientId,
      { record: compact(e.record), deliveredAt: ctx.now, attempt, mxHost: out.mxHost },
      ctx,
      o,
    );
    delete s.entries[out.recipientId];
    return s;
  }
  if (out.result === "defer") {
    const nextAt = ctx.now + delayForAttempt(attempt, o.backoff, jitterUnit(out.recipientId, attempt));
    if (!isExpired(e.record.acceptedAt, nextAt, o.maxRetryMs)) {
      publish(ctx, e, { ...facts, status: "Deferred" });
      e.where = "scheduled";
      e.dueAt = nextAt;
      e.lastReason = out.reason;
      e.lastReply = out.remoteReply;
      e.lastMx = out.mxHost;
      ctx.setTimer(`retry:${out.recipientId}`, nextAt, { t: "due", recipientId: out.recipientId });
      return s;
    }
    // D6: past the maximum retry period the deferral is a soft bounce, with the last reply kept.
    publish(ctx, e, { ...facts, status: "SoftBounce", reason: "retry_period_expired" });
    delete s.entries[out.recipientId];
    return s;
  }
  finalBounce(ctx, e.record, out.result, facts);
  delete s.entries[out.recipientId];
  return s;
}

function finalBounce(
  ctx: Ctx,
  record: Entry["record"],
  result: "soft" | "hard",
  facts: Omit<EventFacts, "ts" | "status">,
): void {
  ctx.emit(
    STATUS_EVENTS_TOPIC,
    record.accountId,
    encode(
      statusEvent(record, { ...facts, status: result === "hard" ? "HardBounce" : "SoftBounce", ts: ctx.now }),
    ),
  );
  // D8: only a hard bounce suppresses the address; policy blocks are never hard (classify.ts).
  if (result === "hard" && !record.isTest) {
    ctx.send(suppressionKey(record.accountId), {
      t: "add",
      address: record.recipient,
      reason: facts.reason,
      recipientId: record.recipientId,
      at: ctx.now,
    });
  }
}

/** What a delayed bounce needs of a Delivered recipient: the event's fields, not the content. */
function compact(r: RecipientRecord): RecipientRecord {
  return { ...r, contentRef: "-", size: 0 };
}

/**
 * Remembers a Delivered recipient for a delayed bounce (D7), for `deliveredKeepMs` and at most
 * `deliveredLimit` per domain (oldest forgotten first), so the snapshot stays bounded.
 */
function remember(s: DomainState, id: string, d: DeliveredEntry, ctx: Ctx, o: DomainOptions): void {
  s.delivered[id] = d;
  const ids = Object.keys(s.delivered);
  let drop = Math.max(0, ids.length - o.deliveredLimit);
  for (const k of ids) {
    const old = s.delivered[k] as DeliveredEntry;
    if (drop > 0 || old.deliveredAt + o.deliveredKeepMs <= ctx.now) {
      delete s.delivered[k];
      drop--;
    } else break;
  }
}

function onBounce(s: DomainState, b: DelayedBounce, ctx: Ctx): DomainState {
  const d = s.delivered[b.recipientId];
  if (!d) return s;
  delete s.delivered[b.recipientId];
  finalBounce(ctx, d.record, b.result, {
    reason: b.reason,
    remoteReply: b.remoteReply,
    mxHost: b.mxHost || d.mxHost,
    attempt: d.attempt + 1,
  });
  return s;
}

export function view(s: DomainState, now: number): DomainView {
  const all = Object.values(s.entries);
  return {
    domain: s.domain,
    scheduled: all.filter((e) => e.where === "scheduled").length,
    ready: s.ready.length,
    inflight: all.filter((e) => e.where === "inflight").length,
    delivered: Object.keys(s.delivered).length,
    circuitOpen: s.circuit.openUntil !== undefined && s.circuit.openUntil > now,
  };
}

export function createDomainBehavior(options: Partial<DomainOptions> = {}): Behavior<DomainState, DomainMsg> {
  const o = { ...DEFAULT_DOMAIN_OPTIONS, ...options };
  return {
    type: "domain",
    outputs: [
      { name: DELIVERY_ATTEMPTS_TOPIC, partitions: o.partitions },
      { name: STATUS_EVENTS_TOPIC, partitions: o.partitions },
    ],
    initial: (id) => ({ domain: id, entries: {}, ready: [], delivered: {}, circuit: { failures: 0 } }),
    receive(state, msg, ctx) {
      const s = draft(state);
      switch (msg.t) {
        case "recipient": {
          const r = msg.record;
          if (s.entries[r.recipientId] || s.delivered[r.recipientId]) return state; // redelivered record
          s.entries[r.recipientId] = { record: r, attempts: 0, where: "ready", dueAt: ctx.now };
          publish(ctx, s.entries[r.recipientId] as Entry, {
            status: "Pending",
            reason: "none",
            remoteReply: "",
            mxHost: "",
            attempt: 0,
          });
          enqueue(s, r.recipientId, ctx, o);
          return pump(s, ctx, o);
        }
        case "outcome":
          return pump(onOutcome(s, msg.outcome, ctx, o), ctx, o);
        case "due": {
          const e = s.entries[msg.recipientId];
          if (e?.where !== "scheduled") return state;
          enqueue(s, msg.recipientId, ctx, o);
          return pump(s, ctx, o);
        }
        case "leaseExpired": {
          const e = s.entries[msg.recipientId];
          if (e?.where !== "inflight" || e.lease?.id !== msg.lease) return state;
          touch(s, msg.recipientId).lease = undefined;
          enqueue(s, msg.recipientId, ctx, o);
          return pump(s, ctx, o);
        }
        case "circuitClose":
          s.circuit = { failures: 0 };
          return pump(s, ctx, o);
        case "bounce":
          return onBounce(s, msg.bounce, ctx);
        case "inspect":
          ctx.reply(view(s, ctx.now));
          return state;
      }
    },
  };
}
