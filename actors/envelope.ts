/**
 * Wire formats of the actor runtime: an inbox envelope (a message, and where to answer it), a
 * reply, and the snapshot written to the changelog after every transition. JSON: readable with
 * any Kafka tool, and small next to the content it describes.
 */
import { utf8 } from "../shared/utf8.ts";

const dec = new TextDecoder();

export interface AskAddress {
  node: string;
  id: string;
}

export interface InboxEnvelope {
  m: unknown;
  ask?: AskAddress;
}

export interface ReplyEnvelope {
  id: string;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface TimerEntry {
  name: string;
  at: number;
  msg: unknown;
}

/** A whole actor: written under the actor's key. */
export interface Snapshot {
  v: 1 | 2;
  /** Turn number of this snapshot (v2); deltas name the full snapshot they build on by it. */
  seq?: number;
  state: unknown;
  timers: TimerEntry[];
  /** Offset of the last inbox record this state includes (-1: none); replays skip up to it. */
  offset: number;
  /** Rows of the behavior's tables (v2). */
  tables?: Record<string, [string, unknown][]>;
}

/**
 * What one turn changed, for a behavior with tables: written under `<actor key>\u0000<slot>`
 * (same partition as the actor), slots reused after the next full snapshot. Restore = the full
 * snapshot, then every delta whose `base` is its `seq`, in `seq` order. Each record is whole or
 * absent (one frame), so a crash never leaves half a turn.
 */
export interface Delta {
  v: 2;
  delta: true;
  seq: number;
  base: number;
  /** The state without its tables (small): replaced whole. */
  state: unknown;
  timers: { put: TimerEntry[]; del: string[] };
  offset: number;
  tables: Record<string, { put: [string, unknown][]; del: string[] }>;
}

export const DELTA_SEPARATOR = "\u0000";

export function encodeJson(value: unknown): Uint8Array {
  return utf8(JSON.stringify(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(dec.decode(bytes)) as T;
}

export function isSnapshot(value: unknown): value is Snapshot {
  const s = value as Snapshot;
  return (
    typeof s === "object" &&
    s !== null &&
    (s.v === 1 || s.v === 2) &&
    (s as unknown as Delta).delta !== true &&
    Array.isArray(s.timers) &&
    typeof s.offset === "number"
  );
}

export function isDelta(value: unknown): value is Delta {
  const d = value as Delta;
  return (
    typeof d === "object" &&
    d !== null &&
    d.v === 2 &&
    d.delta === true &&
    typeof d.seq === "number" &&
    typeof d.base === "number" &&
    typeof d.offset === "number" &&
    typeof d.tables === "object"
  );
}
