/**
 * Wire formats of the actor runtime: an inbox envelope (a message, and where to answer it), a
 * reply, and the snapshot written to the changelog after every transition. JSON: readable with
 * any Kafka tool, and small next to the content it describes.
 */
const enc = new TextEncoder();
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

export interface Snapshot {
  v: 1;
  state: unknown;
  timers: TimerEntry[];
  /** Offset of the last inbox record this state includes (-1: none); replays skip up to it. */
  offset: number;
}

export function encodeJson(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(dec.decode(bytes)) as T;
}

export function isSnapshot(value: unknown): value is Snapshot {
  const s = value as Snapshot;
  return (
    typeof s === "object" &&
    s !== null &&
    s.v === 1 &&
    Array.isArray(s.timers) &&
    typeof s.offset === "number"
  );
}
