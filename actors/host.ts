/**
 * Hosts the actors of one type for the partitions this node holds: restores them from the
 * changelog when a partition is assigned, runs each message through the behavior's transition
 * in the actor's mailbox, carries out the effects, persists the snapshot, and re-arms durable
 * timers. Get-or-activate is synchronous, so two messages can never create two cells.
 */

import { partitionFor } from "../shared/bus/partition.ts";
import type { Bus, BusRecord, OutRecord, TopicPartition } from "../shared/bus/types.ts";
import type { AnyBehavior } from "./behavior.ts";
import { type ArmedTimer, Cell, type Job } from "./cell.ts";
import {
  assemble,
  deltaKey,
  encodeHead,
  freshCursor,
  materialize,
  parseChangelogKey,
  type Restored,
  wantFull,
} from "./changelog.ts";
import type { Clock } from "./clock.ts";
import {
  type Delta,
  decodeJson,
  encodeJson,
  type InboxEnvelope,
  isDelta,
  isSnapshot,
  type Snapshot,
} from "./envelope.ts";
import { InboxProgress, type WatermarkCommitter } from "./inbox.ts";
import { parseActorKey } from "./keys.ts";
import { stateTopic } from "./topics.ts";
import { type Effects, runTransition } from "./transition.ts";

/** Inbox records per partition posted to mailboxes and not yet durable, at most. */
const INBOX_PIPELINE = 512;

export interface HostDeps {
  bus: Bus;
  clock: Clock;
  partitions: number;
  /** Publishes sends, emits and replies produced by a transition (the system routes them). */
  dispatch(effects: Effects, from: string): Promise<void>;
  onError(error: unknown, key: string): void;
}

export class ActorHost {
  private readonly cells = new Map<string, Cell>();
  /** Snapshots restored for owned partitions, not yet activated. */
  private readonly dormant = new Map<string, Restored>();
  private readonly owned = new Set<number>();
  private readonly stateTopic: string;
  /** During a rebalance timers hold still: their partition may be moving to another node. */
  private fenced = false;
  private readonly heldTimers: (() => void)[] = [];
  /** Inbox records posted to mailboxes and not yet durable, per partition (actors/inbox.ts). */
  private readonly progress = new Map<number, InboxProgress>();
  private committer?: WatermarkCommitter;

  constructor(
    readonly behavior: AnyBehavior,
    private readonly deps: HostDeps,
  ) {
    this.stateTopic = stateTopic(behavior.type);
  }

  /** Inbox offsets are committed through this (the subscription runs without autoCommit). */
  useCommitter(committer: WatermarkCommitter): void {
    this.committer = committer;
  }

  owns(key: string): boolean {
    return this.owned.has(partitionFor(key, this.deps.partitions));
  }

  isLive(key: string): boolean {
    return this.cells.has(key);
  }

  liveKeys(): string[] {
    return [...this.cells.keys()];
  }

  /** The states of the live actors, read-only (metrics sampled at scrape time). */
  *liveStates(): Iterable<unknown> {
    for (const cell of this.cells.values()) yield cell.state;
  }

  ownedPartitions(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  /** The group starts moving partitions: timers that come due wait until it is over. */
  fence(): void {
    this.fenced = true;
  }

  /** The rebalance is over: timers that came due meanwhile run if their actor stayed here. */
  unfence(): void {
    this.fenced = false;
    for (const fire of this.heldTimers.splice(0)) fire();
  }

  /** Partition assigned: read its changelog, then wake every actor that has timers pending. */
  async assign(tps: TopicPartition[]): Promise<void> {
    const parts = tps.map((tp) => tp.partition).filter((p) => !this.owned.has(p));
    if (parts.length === 0) return;
    const latest = new Map<string, Snapshot | null>();
    const deltas = new Map<string, Delta[]>();
    await this.deps.bus.replay(this.stateTopic, parts, (r: BusRecord) => {
      const { actorKey, delta } = parseChangelogKey(r.key);
      if (!delta) {
        latest.set(actorKey, r.value.length === 0 ? null : this.readSnapshot(r));
        return;
      }
      const d = r.value.length === 0 ? null : this.readDelta(r);
      if (!d) return;
      const list = deltas.get(actorKey) ?? [];
      deltas.set(actorKey, list);
      list.push(d);
    });
    for (const p of parts) this.owned.add(p);
    for (const [key, snap] of latest) {
      if (!snap) continue;
      const restored = assemble(snap, deltas.get(key) ?? []);
      this.dormant.set(key, restored);
      if (restored.timers.length > 0) this.activate(key);
    }
  }

  /**
   * Partition revoked: its timers stop, the records already posted to its mailboxes are handled
   * (they were delivered to this node; the new owner skips what they changed) and their offsets
   * committed, then its actors are forgotten.
   */
  async revoke(tps: TopicPartition[]): Promise<void> {
    const parts = new Set(tps.map((tp) => tp.partition));
    const leaving = [...this.cells.values()].filter((c) => parts.has(c.partition));
    for (const cell of leaving) {
      for (const t of cell.timers.values()) if (t.handle) this.deps.clock.cancel(t.handle);
    }
    await Promise.all(leaving.map((c) => c.mailbox.drain()));
    for (const cell of leaving) cell.retired = true;
    await this.committer?.flush();
    for (const p of parts) this.progress.delete(p);
    for (const cell of leaving) this.cells.delete(cell.key);
    for (const key of [...this.dormant.keys()]) {
      if (parts.has(partitionFor(key, this.deps.partitions))) this.dormant.delete(key);
    }
    for (const p of parts) this.owned.delete(p);
  }

  /**
   * An inbox record: posts it to its actor's mailbox and returns once there is room for the next
   * (pipelined: see actors/inbox.ts). Its offset is committed once its turn is durable. A turn
   * that failed stops the partition: this throws for the next record.
   */
  async handleRecord(record: BusRecord): Promise<void> {
    const prog = this.progressOf(record.partition);
    await prog.room();
    if (prog.failed !== undefined) throw prog.failed;
    const env = decodeJson<InboxEnvelope>(record.value);
    const cell = this.activate(record.key);
    prog.add(record.offset);
    const tp = { topic: record.topic, partition: record.partition };
    cell.mailbox.post({ msg: env.m, offset: record.offset, ...(env.ask ? { ask: env.ask } : {}) }).then(
      () => {
        const next = prog.complete(record.offset);
        if (next !== undefined) this.committer?.note(tp, next);
      },
      (e) => {
        prog.fail(e);
        this.deps.onError(e, record.key);
      },
    );
  }

  private progressOf(partition: number): InboxProgress {
    let p = this.progress.get(partition);
    if (!p) {
      p = new InboxProgress(INBOX_PIPELINE);
      this.progress.set(partition, p);
    }
    return p;
  }

  /** A message that did not travel on the bus (a local ask on a single node). */
  deliverLocal(key: string, msg: unknown, ask: InboxEnvelope["ask"]): Promise<void> {
    const cell = this.activate(key);
    return cell.mailbox.post({ msg, ...(ask ? { ask } : {}) });
  }

  /** Waits for every queued transition; used by graceful shutdown. */
  async drain(): Promise<void> {
    await Promise.all([...this.cells.values()].map((c) => c.mailbox.drain()));
  }

  stop(): void {
    for (const cell of this.cells.values()) {
      cell.retired = true;
      for (const t of cell.timers.values()) if (t.handle) this.deps.clock.cancel(t.handle);
    }
  }

  private activate(key: string): Cell {
    const existing = this.cells.get(key);
    if (existing) return existing;
    const { id } = parseActorKey(key);
    const snap = this.dormant.get(key);
    this.dormant.delete(key);
    const state = snap ? materialize(this.behavior, snap) : this.behavior.initial(id);
    const cell = new Cell(
      key,
      id,
      partitionFor(key, this.deps.partitions),
      state,
      snap?.offset ?? -1,
      (c, jobs) => this.turn(c, jobs),
      snap?.seq ?? 0,
    );
    this.cells.set(key, cell);
    for (const t of snap?.timers ?? []) this.arm(cell, t.name, t.at, t.msg);
    return cell;
  }

  private arm(cell: Cell, name: string, at: number, msg: unknown): void {
    const old = cell.timers.get(name);
    if (old?.handle) this.deps.clock.cancel(old.handle);
    const timer: ArmedTimer = { at, msg };
    cell.timers.set(name, timer);
    cell.timersDirty.add(name);
    const fire = () => {
      if (cell.retired || cell.timers.get(name) !== timer) return;
      if (this.fenced) {
        this.heldTimers.push(fire);
        return;
      }
      cell.mailbox.post({ msg, timer: { name, timer } }).catch((e) => this.deps.onError(e, cell.key));
    };
    timer.handle = this.deps.clock.schedule(at, fire);
  }

  /**
   * One turn of the actor: every job that arrived since the last turn runs through the transition
   * in order; then, once for all of them, outputs are published, the snapshot is written, and the
   * answers are sent. A crash in between repeats outputs (at-least-once) but never loses one, and
   * no answer leaves before the state it reports is durable.
   */
  private async turn(cell: Cell, jobs: Job[]): Promise<void> {
    if (cell.retired) return;
    const effects: Effects = { sends: [], emits: [], reply: undefined };
    const replies: NonNullable<Effects["reply"]>[] = [];
    let changed = false;
    for (const job of jobs) {
      if (job.timer) {
        if (cell.timers.get(job.timer.name) !== job.timer.timer) continue; // cancelled or replaced meanwhile
        cell.timers.delete(job.timer.name);
        cell.timersDirty.add(job.timer.name);
        changed = true;
      }
      if (job.offset !== undefined && job.offset <= cell.offset) continue; // already in the restored state
      const result = runTransition(this.behavior, cell, job.msg, this.deps.clock.now(), cell.timers);
      if (job.offset !== undefined) cell.offset = job.offset;
      // A read-only message (same state, no timer, no output) needs no changelog write: its
      // offset rides on the next write, and a replay after a crash only answers it again.
      if (
        result.state !== cell.state ||
        result.timers.size > 0 ||
        result.cancelled.size > 0 ||
        result.effects.sends.length > 0 ||
        result.effects.emits.length > 0 ||
        this.tablesChanged(result.state)
      )
        changed = true;
      cell.state = result.state;
      for (const name of result.cancelled) {
        const t = cell.timers.get(name);
        if (t?.handle) this.deps.clock.cancel(t.handle);
        cell.timers.delete(name);
        cell.timersDirty.add(name);
      }
      for (const [name, t] of result.timers) this.arm(cell, name, t.at, t.msg);
      effects.sends.push(...result.effects.sends);
      effects.emits.push(...result.effects.emits);
      if (job.ask) replies.push({ to: job.ask, ...result.reply });
    }
    if (!changed && !cell.unsaved) {
      await Promise.all(
        replies.map((reply) => this.deps.dispatch({ sends: [], emits: [], reply }, cell.key)),
      );
      return;
    }
    await this.deps.dispatch(effects, cell.key);
    try {
      await this.deps.bus.publish(this.stateTopic, [this.snapshotRecord(cell)]);
      cell.unsaved = false;
    } catch (e) {
      // The changes this record carried are not durable: the next write must be a full snapshot.
      cell.cursor = freshCursor(cell.cursor.seq);
      cell.unsaved = true;
      throw e;
    }
    await Promise.all(replies.map((reply) => this.deps.dispatch({ sends: [], emits: [], reply }, cell.key)));
  }

  private tablesChanged(state: unknown): boolean {
    const tables = this.behavior.tables?.(state);
    return tables !== undefined && Object.values(tables).some((t) => t.changed);
  }

  /** The changelog record of this turn: a full snapshot, or for a behavior with tables a delta. */
  private snapshotRecord(cell: Cell): OutRecord {
    const b = this.behavior;
    const c = cell.cursor;
    const seq = c.seq + 1;
    const head = encodeHead(b, cell.state);
    const tables = b.tables?.(cell.state);
    if (!tables || wantFull(c)) {
      const snap: Snapshot = {
        v: 2,
        seq,
        state: head,
        timers: [...cell.timers].map(([name, t]) => ({ name, at: t.at, msg: t.msg })),
        offset: cell.offset,
        ...(tables
          ? { tables: Object.fromEntries(Object.entries(tables).map(([name, t]) => [name, t.takeAll()])) }
          : {}),
      };
      const value = encodeJson(snap);
      cell.cursor = { seq, base: seq, deltas: 0, deltaBytes: 0, fullBytes: value.length };
      cell.timersDirty.clear();
      return { key: cell.key, value, partition: cell.partition };
    }
    const put: Delta["timers"]["put"] = [];
    const del: string[] = [];
    for (const name of cell.timersDirty) {
      const t = cell.timers.get(name);
      if (t) put.push({ name, at: t.at, msg: t.msg });
      else del.push(name);
    }
    cell.timersDirty.clear();
    const delta: Delta = {
      v: 2,
      delta: true,
      seq,
      base: c.base as number,
      state: head,
      timers: { put, del },
      offset: cell.offset,
      tables: Object.fromEntries(Object.entries(tables).map(([name, t]) => [name, t.takeChanges()])),
    };
    const value = encodeJson(delta);
    cell.cursor = { ...c, seq, deltas: c.deltas + 1, deltaBytes: c.deltaBytes + value.length };
    return { key: deltaKey(cell.key, c.deltas), value, partition: cell.partition };
  }

  private readDelta(r: BusRecord): Delta | null {
    try {
      const d = decodeJson<unknown>(r.value);
      if (isDelta(d)) return d;
    } catch {
      // fall through
    }
    this.deps.onError(
      new Error(`unreadable changelog delta at ${r.topic}/${r.partition}@${r.offset}`),
      r.key,
    );
    return null;
  }

  private readSnapshot(r: BusRecord): Snapshot | null {
    try {
      const s = decodeJson<unknown>(r.value);
      if (isSnapshot(s)) return s;
    } catch {
      // fall through
    }
    this.deps.onError(new Error(`unreadable snapshot at ${r.topic}/${r.partition}@${r.offset}`), r.key);
    return null;
  }
}
