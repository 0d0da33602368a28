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
}

export function runTransition(
  behavior: AnyBehavior,
  actor: { key: string; id: string; state: unknown },
  msg: unknown,
  now: number,
  timersBefore: Map<string, number>,
): TransitionResult {
  const sends: Effects["sends"] = [];
  const emits: Effects["emits"] = [];
  const timers = new Map<string, { at: number; msg: unknown }>();
  const cancelled = new Set<string>();
  const view = new Map(timersBefore);
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
      view.set(name, at);
    },
    cancelTimer: (name) => {
      timers.delete(name);
      cancelled.add(name);
      view.delete(name);
    },
    timers: () => view,
    send: (key, m) => {
      sends.push({ key, msg: m });
    },
    emit: (topic, key, value, headers) => {
      emits.push({ topic, key, value, ...(headers ? { headers } : {}) });
    },
  };
  try {
    const state = behavior.receive(actor.state, msg, ctx);
    return { state, effects: { sends, emits, reply: undefined }, reply, timers, cancelled };
  } catch (e) {
    // A failed transition changes nothing and asks for nothing; the asker gets the error.
    return {
      state: actor.state,
      effects: { sends: [], emits: [], reply: undefined },
      reply: { ok: false, error: e instanceof Error ? e.message : String(e) },
      timers: new Map(),
      cancelled: new Set(),
    };
  }
}
