/**
 * What an actor is: a pure, synchronous transition over a persistable state. Everything that
 * touches the world (replies, timers, messages to other actors, records for other topics) is
 * asked for through the context and carried out by the runtime after the transition, in this
 * order: outputs published, snapshot persisted, reply sent.
 */
import type { TopicSpec } from "../shared/bus/types.ts";
import type { ActorType } from "./keys.ts";
import type { Table } from "./table.ts";

export interface ActorContext<M> {
  readonly key: string;
  readonly id: string;
  /** The injected clock's time when this message is handled. */
  readonly now: number;
  /** Answers the ask that carried this message (ignored for a tell or a timer). */
  reply(value: unknown): void;
  /** Sets (or replaces) the named timer: `msg` comes back to this actor at `at`, even after a restart. */
  setTimer(name: string, at: number, msg: M): void;
  cancelTimer(name: string): void;
  /** Pending timers, by name, with their due time. */
  timers(): ReadonlyMap<string, number>;
  /** A message to another actor (or to itself) through the bus. */
  send(key: string, msg: unknown): void;
  /** A record for another topic (per-recipient records, status events). */
  emit(topic: string, key: string, value: Uint8Array, headers?: Record<string, string>): void;
}

export interface Behavior<S, M> {
  readonly type: ActorType;
  /** Topics this behavior emits to; created when the system starts. */
  readonly outputs?: TopicSpec[];
  initial(id: string): S;
  /** Must not throw for expected input; a throw is answered as an ActorError and changes nothing. */
  receive(state: S, msg: M, ctx: ActorContext<M>): S;
  /** Snapshot codec; JSON of the state when absent. With `tables`, the state without its tables. */
  encode?(state: S): unknown;
  decode?(data: unknown): S;
  /**
   * The keyed tables inside a state (actors/table.ts), by name: persisted row by row as deltas,
   * changed in place by the transition, rolled back by the runtime if it throws. `decode` must
   * give a state with empty tables; the runtime loads their rows.
   */
  tables?(state: S): Record<string, Table<unknown>>;
  /** Rebuilds what a state derives from its tables (indexes), after a restore or a rollback. */
  restored?(state: S): void;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds behaviors of many state types
export type AnyBehavior = Behavior<any, any>;
