/**
 * The domain actor (D1, D5, D6, D7): a pure transition over `DomainState`. A recipient arrives
 * (`Pending`), waits in the ready queue, gets a slot lease and an attempt request for a worker;
 * the worker's outcome makes it `Delivered`, `Deferred` (with a durable retry timer on the
 * backoff schedule), `SoftBounce` (past the retry period or by classification) or `HardBounce`
 * (and suppressed). A lease that outlives its TTL (a dead worker) returns its slot and re-queues
 * the recipient. Slots are refilled on events (outcome, timer), not only on timers.
 *
 * A domain can hold a large backlog (a campaign to one mailbox provider, a provider outage), so
 * a message costs O(1) whatever the backlog: recipients are rows of a table (actors/table.ts)
 * changed in place and persisted as deltas, and the ready queue and the slots in use are an
 * index derived from them.
 */

import { CONFIG_DEFAULTS } from "../../shared/config/schema.ts";
import {
  type EventFacts,
  STATUS_EVENTS_TOPIC,
  STATUS_EVENTS_TOPIC_SPEC,
  statusEvent,
  statusEventRecord,
} from "../../shared/model/event.ts";
import { decide, grant, type Lease } from "../../shared/model/lease.ts";
import type { RecipientRecord } from "../../shared/model/recipient.ts";
import type { ActorContext, Behavior } from "../behavior.ts";
import { CONTENT_DELETE_TOPIC, type ContentMsg, encodeDeletion } from "../content/behavior.ts";
import { contentKey, DOMAIN_ACTOR_TYPE, suppressionKey } from "../keys.ts";
import { Table } from "../table.ts";
import { type BackoffPolicy, DEFAULT_BACKOFF, delayForAttempt, isExpired, jitterUnit } from "./backoff.ts";
import {
  type AttemptRequest,
  DELIVERY_ATTEMPTS_TOPIC,
  type DelayedBounce,
  type DeliveredEntry,
  type DomainIndex,
  type DomainMsg,
  type DomainState,
  type DomainView,
  type Entry,
  encodeAttemptRequest,
  type Outcome,
} from "./protocol.ts";

export interface DomainOptions {
  /** Connections per recipient domain (D5): the delivery workers' pool never opens more. */
  concurrency: number;
  /**
   * Attempts per connection handed out ahead: up to `concurrency × (1 + prefetch)` are in flight,
   * the ones beyond `concurrency` read, signed and waiting in the worker's pool for the next
   * connection to come free. Without them a connection idles between two transactions for the
   * outcome's round trip through this actor (a durable turn) and the next attempt's.
   */
  prefetch: number;
  maxRetryMs: number;
  backoff: BackoffPolicy;
  /** How long a worker may hold a slot before it is taken back. */
  leaseMs: number;
  /**
   * Consecutive attempts that found the domain unreachable (every MX refused, or its MX lookup
   * failed for now) that open the circuit, and for how long.
   */
  circuitThreshold: number;
  circuitOpenMs: number;
  /** How long, and how many per domain, Delivered recipients are remembered for a delayed bounce. */
  deliveredKeepMs: number;
  deliveredLimit: number;
  partitions: number;
  /**
   * At most this many recipients of one message in one attempt (one SMTP transaction, one DKIM
   * signature); 1 = an attempt per recipient.
   */
  batchRecipients: number;
  /** How long a message's first records wait for its others before its recipients go anyway. */
  gatherMs: number;
}

export const DEFAULT_DOMAIN_OPTIONS: DomainOptions = {
  // D5, D6: from the one config's defaults.
  concurrency: CONFIG_DEFAULTS.deliveryConcurrency,
  prefetch: CONFIG_DEFAULTS.deliveryPrefetch,
  maxRetryMs: CONFIG_DEFAULTS.deliveryMaxRetryHours * 3_600_000,
  backoff: DEFAULT_BACKOFF,
  leaseMs: 10 * 60_000,
  circuitThreshold: 5,
  circuitOpenMs: 5 * 60_000,
  deliveredKeepMs: 3 * 86_400_000,
  // Rows of a table, persisted as deltas: 20,000 (about 9 MB for a busy provider) costs a turn
  // no more than 500 did. Older Delivered recipients are not turned into bounces (D7 limit).
  deliveredLimit: 20_000,
  partitions: CONFIG_DEFAULTS.partitions,
  batchRecipients: CONFIG_DEFAULTS.deliveryBatchRecipients,
  // The records of one message are published together (ingress/accept.ts), so the others arrive
  // in the next turn or two; the wait only runs out for a message whose recipients span domains.
  gatherMs: 20,
};

type Ctx = ActorContext<DomainMsg>;

/**
 * X5: tells the content ledger that these recipients, ended in one turn, have their final status.
 * When they are every recipient of their message — its only one, or all of a message whose
 * recipients were all at this domain and ended together, as one transaction's outcomes do — the
 * content is deleted from this turn, as the ledger would emit it at once: one actor turn, an
 * inbox record and a changelog record fewer per recipient (ingress (b): 5 recipients of one
 * domain, one transaction). A replayed turn emits it again; the janitor's delete is idempotent.
 * Otherwise each goes to the ledger, which counts the message's recipients across domains and
 * turns.
 */
function finished(ctx: Ctx, ended: readonly RecipientRecord[]): void {
  const byMessage = new Map<string, RecipientRecord[]>();
  for (const r of ended) {
    if (r.recipients === undefined) continue;
    const same = byMessage.get(r.messageId);
    if (same) same.push(r);
    else byMessage.set(r.messageId, [r]);
  }
  for (const [messageId, rs] of byMessage) {
    const first = rs[0] as RecipientRecord;
    if (new Set(rs.map((r) => r.recipientId)).size === first.recipients) {
      ctx.emit(CONTENT_DELETE_TOPIC, messageId, encodeDeletion(first.contentRef));
      continue;
    }
    for (const r of rs)
      ctx.send(contentKey(messageId), {
        t: "final",
        messageId,
        recipientId: r.recipientId,
        contentRef: r.contentRef,
        recipients: r.recipients as number,
      } satisfies ContentMsg);
  }
}

function publish(ctx: Ctx, e: Entry, f: Omit<EventFacts, "ts">): void {
  emitStatus(ctx, e.record, { ...f, ts: ctx.now });
}

/** A status event on `events.status`, keyed by account id (shared/model/event.ts). */
function emitStatus(ctx: Ctx, record: RecipientRecord, f: EventFacts): void {
  const { key, value } = statusEventRecord(statusEvent(record, f));
  ctx.emit(STATUS_EVENTS_TOPIC, key, value);
}

/** Gives back the slot the row held, if it holds one that `next` does not keep. */
function releaseSlot(s: DomainState, id: string, next?: Entry): void {
  const held = s.entries.get(id)?.lease;
  if (held && held.id !== next?.lease?.id) s.index.inflight.delete(held.id);
}

/**
 * Replaces an entry's row (rows are values) and keeps the index in step with its `where`. An
 * inflight row's lease is already in `index.inflight` (pump granted it).
 */
function put(s: DomainState, id: string, e: Entry): void {
  releaseSlot(s, id, e);
  s.entries.set(id, e);
  if (e.where === "ready") markReady(s.index, id, e);
  else unmarkReady(s.index, id, e.record.messageId);
}

function drop(s: DomainState, id: string): void {
  const e = s.entries.get(id);
  releaseSlot(s, id);
  s.entries.delete(id);
  if (e) unmarkReady(s.index, id, e.record.messageId);
}

function markReady(index: DomainIndex, id: string, e: Entry): void {
  index.ready.set(id, e.queuedAt);
  addTo(index.readyByMessage, e.record.messageId, id);
}

function unmarkReady(index: DomainIndex, id: string, messageId: string): void {
  index.ready.delete(id);
  removeFrom(index.readyByMessage, messageId, id);
}

function addTo(m: Map<string, Set<string>>, key: string, id: string): void {
  const set = m.get(key);
  if (set) set.add(id);
  else m.set(key, new Set([id]));
}

function removeFrom(m: Map<string, Set<string>>, key: string, id: string): void {
  const set = m.get(key);
  if (set?.delete(id) && set.size === 0) m.delete(key);
}

/** Recipients that may share a transaction: real ones with ASCII addresses (SMTPUTF8 goes alone). */
const batchable = (r: RecipientRecord) => !r.isTest && !/[\u0080-\uffff]/.test(r.recipient);

/**
 * A new recipient of a message with several records: while fewer of them are here than the
 * message has (or one transaction takes), its recipients wait for the others, at most `gatherMs`.
 */
function gather(s: DomainState, r: RecipientRecord, ctx: Ctx, o: DomainOptions): void {
  const expected = Math.min(r.recipients ?? 1, o.batchRecipients);
  if (expected <= 1 || !batchable(r)) return;
  const timer = `gather:${r.messageId}`;
  if ((s.index.readyByMessage.get(r.messageId)?.size ?? 0) >= expected) {
    if (s.index.gathering.delete(r.messageId)) ctx.cancelTimer(timer);
    return;
  }
  if (s.index.gathering.has(r.messageId)) return;
  s.index.gathering.add(r.messageId);
  ctx.setTimer(timer, ctx.now + o.gatherMs, { t: "gathered", messageId: r.messageId });
}

/**
 * The ready recipients that go in one attempt with `id`: its message's other ready recipients of
 * the same sending domain, distinct addresses, at most `batchRecipients` in all, `id` first.
 */
function batchOf(s: DomainState, id: string, e: Entry, o: DomainOptions): [string, Entry][] {
  const out: [string, Entry][] = [[id, e]];
  const siblings = s.index.readyByMessage.get(e.record.messageId);
  if (o.batchRecipients <= 1 || siblings === undefined || siblings.size <= 1 || !batchable(e.record))
    return out;
  const seen = new Set([e.record.recipient.toLowerCase()]);
  for (const other of siblings) {
    if (out.length >= o.batchRecipients) break;
    const m = s.entries.get(other) as Entry;
    const address = m.record.recipient.toLowerCase();
    if (other === id || seen.has(address) || !batchable(m.record)) continue;
    if (m.record.sendingDomain !== e.record.sendingDomain) continue;
    seen.add(address);
    out.push([other, m]);
  }
  return out;
}

/** Queues an entry at the back of the ready queue. */
function enqueue(s: DomainState, id: string, e: Entry): void {
  s.seq += 1;
  put(s, id, { ...e, where: "ready", queuedAt: s.seq });
}

/**
 * Fills free slots from the front of the ready queue (`concurrency × (1 + prefetch)` of them once
 * the domain answers; the workers' pool keeps the connections at `concurrency`). One slot, one
 * lease and one attempt take a recipient with its message's other ready recipients (`batchOf`);
 * each keeps its own row, attempt count and lease timer, so its outcome, retry and bounce stay its
 * own (D1, D9).
 */
function pump(s: DomainState, ctx: Ctx, o: DomainOptions): DomainState {
  if (s.circuit.openUntil !== undefined && s.circuit.openUntil > ctx.now) return s;
  // Ahead of the connections only while the domain answers: a new domain, or one whose MX hosts
  // just all failed, gets no more attempts than connections (the circuit counts them).
  const total = o.concurrency * (s.circuit.warm ? 1 + o.prefetch : 1);
  for (const id of s.index.ready.keys()) {
    const e = s.entries.get(id) as Entry;
    if (s.index.gathering.has(e.record.messageId)) continue;
    const attempts = e.attempts + 1;
    const lease = `${id}#${attempts}`;
    // No expire here: a lapsed lease is taken back by its `leaseExpired` timer, which re-queues.
    if (!decide(s.index.inflight, id, { total }).ok) break;
    const slot = grant({ id: lease, holder: id, ttlMs: o.leaseMs }, ctx.now);
    s.index.inflight.set(slot.id, slot);
    const members = batchOf(s, id, e, o);
    for (const [mid, m] of members) {
      put(s, mid, { ...m, attempts: m.attempts + 1, where: "inflight", lease: slot });
      ctx.setTimer(`lease:${mid}`, slot.expiresAt, { t: "leaseExpired", recipientId: mid, lease });
    }
    const req: AttemptRequest = {
      domain: s.domain,
      record: e.record,
      ...(members.length > 1 ? { records: members.map(([, m]) => m.record) } : {}),
      attempt: attempts,
      lease,
      concurrency: o.concurrency,
    };
    ctx.emit(DELIVERY_ATTEMPTS_TOPIC, s.domain, encodeAttemptRequest(req));
  }
  return s;
}

/** Is this outcome for the attempt the recipient is in (not stale, not a duplicate)? */
function current(s: DomainState, out: Outcome): boolean {
  const e = s.entries.get(out.recipientId);
  return e?.where === "inflight" && e.lease?.id === out.lease;
}

function onOutcome(s: DomainState, out: Outcome, ctx: Ctx, o: DomainOptions): DomainState {
  if (!current(s, out)) return s; // stale or duplicate
  countForCircuit(s, out.allMxFailed === true, ctx, o);
  const ended: RecipientRecord[] = [];
  settle(s, out, ctx, o, ended);
  finished(ctx, ended);
  return s;
}

/** One transaction's outcomes: one attempt for the circuit, then each recipient on its own. */
function onOutcomes(s: DomainState, outs: Outcome[], ctx: Ctx, o: DomainOptions): DomainState {
  const live = outs.filter((out) => current(s, out));
  if (live.length === 0) return s;
  countForCircuit(
    s,
    live.some((out) => out.allMxFailed === true),
    ctx,
    o,
  );
  const ended: RecipientRecord[] = [];
  for (const out of live) settle(s, out, ctx, o, ended);
  finished(ctx, ended);
  return s;
}

function countForCircuit(s: DomainState, allMxFailed: boolean, ctx: Ctx, o: DomainOptions): void {
  s.circuit = allMxFailed
    ? { failures: s.circuit.failures + 1, ...(s.circuit.openUntil ? { openUntil: s.circuit.openUntil } : {}) }
    : { failures: 0, warm: true };
  if (s.circuit.failures >= o.circuitThreshold && s.circuit.openUntil === undefined) {
    s.circuit.openUntil = ctx.now + o.circuitOpenMs;
    ctx.setTimer("circuit", s.circuit.openUntil, { t: "circuitClose" });
  }
}

/**
 * A recipient's outcome: Delivered, Deferred (retry timer), or a final bounce. A recipient whose
 * status is now final is added to `ended` (for `finished`, once the turn's outcomes are settled).
 */
function settle(s: DomainState, out: Outcome, ctx: Ctx, o: DomainOptions, ended: RecipientRecord[]): void {
  const id = out.recipientId;
  const e: Entry = { ...(s.entries.get(id) as Entry), lease: undefined };
  ctx.cancelTimer(`lease:${id}`);
  const attempt = e.attempts;
  const facts = {
    reason: out.reason,
    remoteReply: out.remoteReply,
    mxHost: out.mxHost,
    attempt,
    decision: out.decision,
  };
  if (out.result === "delivered") {
    publish(ctx, e, { ...facts, status: "Delivered", reason: "none" });
    ended.push(e.record);
    drop(s, id);
    remember(s, id, { record: compact(e.record), deliveredAt: ctx.now, attempt, mxHost: out.mxHost }, ctx, o);
    return;
  }
  if (out.result === "defer") {
    const nextAt = ctx.now + delayForAttempt(attempt, o.backoff, jitterUnit(id, attempt));
    if (!isExpired(e.record.acceptedAt, nextAt, o.maxRetryMs)) {
      publish(ctx, e, { ...facts, status: "Deferred" });
      put(s, id, {
        ...e,
        where: "scheduled",
        dueAt: nextAt,
        lastReason: out.reason,
        lastReply: out.remoteReply,
        lastMx: out.mxHost,
      });
      ctx.setTimer(`retry:${id}`, nextAt, { t: "due", recipientId: id });
      return;
    }
    // D6: past the maximum retry period the deferral is a soft bounce, with the last reply kept.
    publish(ctx, e, { ...facts, status: "SoftBounce", reason: "retry_period_expired" });
    ended.push(e.record);
    drop(s, id);
    return;
  }
  finalBounce(ctx, e.record, out.result, facts);
  ended.push(e.record);
  drop(s, id);
}

function finalBounce(
  ctx: Ctx,
  record: Entry["record"],
  result: "soft" | "hard",
  facts: Omit<EventFacts, "ts" | "status">,
): void {
  emitStatus(ctx, record, { ...facts, status: result === "hard" ? "HardBounce" : "SoftBounce", ts: ctx.now });
  // D8: only a hard bounce suppresses the address; policy blocks are never hard (classify.ts).
  if (result === "hard" && !record.isTest) {
    ctx.send(suppressionKey(record.accountId), {
      t: "add",
      address: record.recipient,
      reason: facts.reason,
      recipientId: record.recipientId,
      at: ctx.now,
      // Issue 15: the reply that caused it and the rule that decided, to lift wrong ones by.
      reply: facts.remoteReply,
      ...(facts.decision ? { decision: facts.decision } : {}),
    });
  }
}

/** What a delayed bounce needs of a Delivered recipient: the event's fields, not the content. */
function compact(r: RecipientRecord): RecipientRecord {
  return { ...r, contentRef: "-", size: 0 };
}

/**
 * Remembers a Delivered recipient for a delayed bounce (D7), for `deliveredKeepMs` and at most
 * `deliveredLimit` per domain (oldest forgotten first), so the state stays bounded.
 */
function remember(s: DomainState, id: string, d: DeliveredEntry, ctx: Ctx, o: DomainOptions): void {
  s.delivered.set(id, d);
  addTo(s.index.deliveredByMessage, d.record.messageId, id);
  for (const [k, old] of s.delivered.entries()) {
    if (s.delivered.size > o.deliveredLimit || old.deliveredAt + o.deliveredKeepMs <= ctx.now)
      forget(s, k, old);
    else break;
  }
}

function forget(s: DomainState, id: string, d: DeliveredEntry): void {
  s.delivered.delete(id);
  removeFrom(s.index.deliveredByMessage, d.record.messageId, id);
}

const bare = (a: string) =>
  a
    .replace(/^rfc822;\s*/i, "")
    .replace(/^<|>$/g, "")
    .trim()
    .toLowerCase();

/**
 * The recipient a bounce is about. A message Return-Path names the message: the recipient is the
 * one of its Delivered recipients here whose address the report gives (Final-Recipient,
 * Original-Recipient), or its only one; otherwise none (not guessed).
 */
function bounced(s: DomainState, b: DelayedBounce): string | undefined {
  if (b.recipientId !== undefined) return b.recipientId;
  if (b.messageId === undefined) return undefined;
  const ids = [...(s.index.deliveredByMessage.get(b.messageId) ?? [])];
  const wanted = new Set((b.addresses ?? []).map(bare));
  const named = ids.filter((id) => wanted.has(bare(s.delivered.get(id)?.record.recipient ?? "")));
  if (named.length === 1) return named[0];
  return named.length === 0 && ids.length === 1 ? ids[0] : undefined;
}

function onBounce(s: DomainState, b: DelayedBounce, ctx: Ctx): DomainState {
  const id = bounced(s, b);
  const d = id === undefined ? undefined : s.delivered.get(id);
  if (id === undefined || !d) return s;
  forget(s, id, d);
  finalBounce(ctx, d.record, b.result, {
    reason: b.reason,
    remoteReply: b.remoteReply,
    mxHost: b.mxHost || d.mxHost,
    attempt: d.attempt + 1,
    decision: b.decision,
  });
  return s;
}

export function view(s: DomainState, now: number): DomainView {
  let scheduled = 0;
  for (const e of s.entries.values()) if (e.where === "scheduled") scheduled++;
  return {
    domain: s.domain,
    scheduled,
    ready: s.index.ready.size,
    inflight: s.index.inflight.size,
    delivered: s.delivered.size,
    circuitOpen: s.circuit.openUntil !== undefined && s.circuit.openUntil > now,
  };
}

/** The index derived from the entries: ready ids in queue order, the inflight rows' leases. */
function reindex(s: DomainState): void {
  const ready: [string, number][] = [];
  s.index.ready.clear();
  s.index.readyByMessage.clear();
  s.index.gathering.clear();
  s.index.deliveredByMessage.clear();
  s.index.inflight.clear();
  for (const [id, d] of s.delivered.entries()) addTo(s.index.deliveredByMessage, d.record.messageId, id);
  for (const [id, e] of s.entries.entries()) {
    if (e.where === "ready") ready.push([id, e.queuedAt]);
    else if (e.where === "inflight") {
      // The holder is the row's id (rows written before the shared lease model had none).
      const l = e.lease ?? { id: `${id}#${e.attempts}`, holder: id, expiresAt: 0 };
      s.index.inflight.set(l.id, { id: l.id, holder: id, expiresAt: l.expiresAt });
    }
  }
  ready.sort((a, b) => a[1] - b[1]);
  for (const [id] of ready) markReady(s.index, id, s.entries.get(id) as Entry);
}

function emptyIndex(): DomainIndex {
  return {
    ready: new Map(),
    readyByMessage: new Map(),
    gathering: new Set(),
    deliveredByMessage: new Map(),
    inflight: new Map<string, Lease>(),
  };
}

/** The persisted head: everything but the tables and the index. */
interface DomainHead {
  domain: string;
  circuit: DomainState["circuit"];
  seq: number;
}

export function createDomainBehavior(options: Partial<DomainOptions> = {}): Behavior<DomainState, DomainMsg> {
  const o = { ...DEFAULT_DOMAIN_OPTIONS, ...options };
  return {
    type: DOMAIN_ACTOR_TYPE,
    outputs: [
      { name: DELIVERY_ATTEMPTS_TOPIC, partitions: o.partitions },
      STATUS_EVENTS_TOPIC_SPEC(o.partitions),
      { name: CONTENT_DELETE_TOPIC, partitions: o.partitions },
    ],
    initial: (id) => ({
      domain: id,
      circuit: { failures: 0 },
      seq: 0,
      entries: new Table(),
      delivered: new Table(),
      index: emptyIndex(),
    }),
    encode: (s): DomainHead => ({ domain: s.domain, circuit: s.circuit, seq: s.seq }),
    decode: (data) => {
      const h = data as DomainHead;
      return {
        domain: h.domain,
        circuit: h.circuit,
        seq: h.seq ?? 0,
        entries: new Table(),
        delivered: new Table(),
        index: emptyIndex(),
      };
    },
    tables: (s) => ({ entries: s.entries, delivered: s.delivered }) as Record<string, Table<unknown>>,
    restored: reindex,
    receive(state, msg, ctx) {
      // The head is copied (it is small); the tables and their index change in place.
      const s: DomainState = { ...state, circuit: { ...state.circuit } };
      switch (msg.t) {
        case "recipient": {
          const r = msg.record;
          if (s.entries.has(r.recipientId) || s.delivered.has(r.recipientId)) return state; // redelivered record
          const e: Entry = { record: r, attempts: 0, where: "ready", dueAt: ctx.now, queuedAt: 0 };
          publish(ctx, e, { status: "Pending", reason: "none", remoteReply: "", mxHost: "", attempt: 0 });
          enqueue(s, r.recipientId, e);
          gather(s, r, ctx, o);
          return pump(s, ctx, o);
        }
        case "outcome":
          return pump(onOutcome(s, msg.outcome, ctx, o), ctx, o);
        case "outcomes":
          return pump(onOutcomes(s, msg.outcomes, ctx, o), ctx, o);
        case "gathered":
          if (!s.index.gathering.delete(msg.messageId)) return state;
          return pump(s, ctx, o);
        case "due": {
          const e = s.entries.get(msg.recipientId);
          if (e?.where !== "scheduled") return state;
          enqueue(s, msg.recipientId, e);
          return pump(s, ctx, o);
        }
        case "leaseExpired": {
          const e = s.entries.get(msg.recipientId);
          if (e?.where !== "inflight" || e.lease?.id !== msg.lease) return state;
          // The attempt never reported back (its worker died): queued again, unless the retry
          // period is over (D6), which makes it a soft bounce like any other expired deferral.
          if (isExpired(e.record.acceptedAt, ctx.now, o.maxRetryMs)) {
            publish(ctx, e, {
              status: "SoftBounce",
              reason: "retry_period_expired",
              remoteReply: e.lastReply ?? "the last delivery attempt did not report back",
              mxHost: e.lastMx ?? "",
              attempt: e.attempts,
            });
            finished(ctx, [e.record]);
            drop(s, msg.recipientId);
            return pump(s, ctx, o);
          }
          enqueue(s, msg.recipientId, { ...e, lease: undefined });
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
