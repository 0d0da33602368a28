/**
 * Runs one message through a behavior with a context that only records what was asked for.
 * Pure apart from the behavior itself: no I/O, no clock reads.
 */
import type { ActorContext, AnyBehavior } from "./behavior.ts";
import type { AskAddress } from "./envelope.ts";

export interface Effects {
  sends: { key: string; msg: unknown }[];
  emits: { topic: string; key: string; value: Uint8Array; headers?: Record<string, string> }[];
  reply: ({ to: AskAddress } & TransitionReply) | undefined;
}

export interface TransitionReply {
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface TransitionResult {
  state: unknown;
  effects: Effects;
  reply: TransitionReply;
  timers: Map<string, { at: number; msg: unknown }>;
  cancelled: Set<string>;
  /** The behavior threw: nothing changed (its tables were rolled back). */
  failed: boolean;
}

export function runTransition(
  behavior: AnyBehavior,
  actor: { key: string; id: string; state: unknown },
  msg: unknown,
  now: number,
  /** The actor's pending timers before this message (read only when the behavior asks). */
  timersBefore: ReadonlyMap<string, { at: number }>,
): TransitionResult {
  const sends: Effects["sends"] = [];
  const emits: Effects["emits"] = [];
  const timers = new Map<string, { at: number; msg: unknown }>();
  const cancelled = new Set<string>();
  // Built on first use only: copying every pending timer for every message is O(timers).
  let view: Map<string, number> | undefined;
  const timerView = (): Map<string, number> => {
    if (!view) {
      view = new Map([...timersBefore].map(([n, t]) => [n, t.at]));
      for (const name of cancelled) view.delete(name);
      for (const [name, t] of timers) view.set(name, t.at);
    }
    return view;
  };
  let reply: TransitionReply = { ok: true, value: undefined };
  const ctx: ActorContext<unknown> = {
    key: actor.key,
    id: actor.id,
    now,
    reply: (value) => {
      reply = { ok: true, value };
    },
    setTimer: (name, at, m) => {
      cancelled.delete(name);
      timers.set(name, { at, msg: m });
      view?.set(name, at);
    },
    cancelTimer: (name) => {
      timers.delete(name);
      cancelled.add(name);
      view?.delete(name);
    },
    timers: timerView,
    send: (key, m) => {
      sends.push({ key, msg: m });
    },
    emit: (topic, key, value, headers) => {
      emits.push({ topic, key, value, ...(headers ? { headers } : {}) });
    },
  };
  const tables = behavior.tables ? Object.values(behavior.tables(actor.state)) : [];
  for (const t of tables) t.begin();
  try {
    const state = behavior.receive(actor.state, msg, ctx);
    for (const t of tables) t.commit();
    return { state, effects: { sends, emits, reply: undefined }, reply, timers, cancelled, failed: false };
  } catch (e) {
    // A failed transition changes nothing and asks for nothing; the asker gets the error.
    for (const t of tables) t.rollback();
    if (tables.length > 0) behavior.restored?.(actor.state);
    return {
      state: actor.state,
      effects: { sends: [], emits: [], reply: undefined },
      reply: { ok: false, error: e instanceof Error ? e.message : String(e) },
      timers: new Map(),
      cancelled: new Set(),
      failed: true,
    };
  }
}
