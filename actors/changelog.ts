/**
 * How an actor's state travels on its compacted changelog. A behavior without tables writes a
 * full snapshot every turn (its state is small). A behavior with tables writes what the turn
 * changed as a delta, in one of `MAX_DELTAS` slot keys beside the snapshot, and a full snapshot
 * again once the deltas since the last one weigh as much as it did (so the cost of a turn stays
 * proportional to what it changed, amortized) or the slots run out. Compaction keeps the latest
 * record per key; a restore takes the full snapshot and the deltas built on it, in order.
 */
import type { AnyBehavior } from "./behavior.ts";
import { DELTA_SEPARATOR, type Delta, type Snapshot, type TimerEntry } from "./envelope.ts";

/** Slots per actor: bounds a restore's deltas; the byte budget usually brings a full snapshot first. */
export const MAX_DELTAS = 4096;
/** Deltas smaller than this in total never force a full snapshot. */
const MIN_DELTA_BUDGET = 64 * 1024;

export function deltaKey(actorKey: string, slot: number): string {
  return `${actorKey}${DELTA_SEPARATOR}${slot}`;
}

/** The actor key of a changelog key, and whether it is a delta slot. */
export function parseChangelogKey(key: string): { actorKey: string; delta: boolean } {
  const i = key.indexOf(DELTA_SEPARATOR);
  return i < 0 ? { actorKey: key, delta: false } : { actorKey: key.slice(0, i), delta: true };
}

/** Where an actor's changelog stands: what the next write builds on. */
export interface ChangelogCursor {
  /** Turn number of the last write. */
  seq: number;
  /** `seq` of the last full snapshot; undefined before the first one. */
  base?: number;
  /** Deltas written since it, and their bytes; the full snapshot's bytes. */
  deltas: number;
  deltaBytes: number;
  fullBytes: number;
}

export function freshCursor(seq = 0): ChangelogCursor {
  return { seq, deltas: MAX_DELTAS, deltaBytes: 0, fullBytes: 0 };
}

export function wantFull(c: ChangelogCursor): boolean {
  return (
    c.base === undefined || c.deltas >= MAX_DELTAS || c.deltaBytes >= Math.max(c.fullBytes, MIN_DELTA_BUDGET)
  );
}

/** A restored actor: its full snapshot with every delta built on it applied (tables still as rows). */
export interface Restored extends Snapshot {
  seq: number;
}

/**
 * Folds the deltas into their full snapshot: the head state and offset of the latest, timers
 * and table rows applied in order. Deltas built on another snapshot (stale slots) are ignored.
 */
export function assemble(full: Snapshot, deltas: readonly Delta[]): Restored {
  const seq = full.seq ?? 0;
  const mine = deltas.filter((d) => d.base === seq && d.seq > seq).sort((a, b) => a.seq - b.seq);
  if (mine.length === 0) return { ...full, seq };
  const timers = new Map<string, TimerEntry>(full.timers.map((t) => [t.name, t]));
  const tables = new Map<string, Map<string, unknown>>(
    Object.entries(full.tables ?? {}).map(([name, rows]) => [name, new Map(rows)]),
  );
  for (const d of mine) {
    for (const name of d.timers.del) timers.delete(name);
    for (const t of d.timers.put) timers.set(t.name, t);
    for (const [name, change] of Object.entries(d.tables)) {
      const rows = tables.get(name) ?? new Map<string, unknown>();
      tables.set(name, rows);
      for (const id of change.del) rows.delete(id);
      for (const [id, row] of change.put) rows.set(id, row);
    }
  }
  const last = mine[mine.length - 1] as Delta;
  return {
    v: 2,
    seq: last.seq,
    state: last.state,
    timers: [...timers.values()],
    offset: last.offset,
    tables: Object.fromEntries([...tables].map(([name, rows]) => [name, [...rows]])),
  };
}

/** The head state as the behavior encodes it. */
export function encodeHead(behavior: AnyBehavior, state: unknown): unknown {
  return behavior.encode ? behavior.encode(state) : state;
}

/** A state from a restored snapshot: decoded head, table rows loaded, derived indexes rebuilt. */
export function materialize(behavior: AnyBehavior, snap: Snapshot): unknown {
  const state = behavior.decode ? behavior.decode(snap.state) : snap.state;
  if (behavior.tables) {
    const tables = behavior.tables(state);
    for (const [name, rows] of Object.entries(snap.tables ?? {})) tables[name]?.load(rows);
    behavior.restored?.(state);
  }
  return state;
}
