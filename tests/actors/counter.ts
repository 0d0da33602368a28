/** A small behavior for runtime tests: counts, remembers message order, and arms timers. */
import type { Behavior } from "../../actors/behavior.ts";

export interface CounterState {
  count: number;
  seen: number[];
  fired: string[];
}

export type CounterMsg =
  | { t: "add"; n: number }
  | { t: "get" }
  | { t: "arm"; name: string; inMs: number }
  | { t: "fire"; name: string }
  | { t: "boom" }
  | { t: "forward"; to: string; n: number };

export const FIRED_TOPIC = "test.fired";

export function counterBehavior(node = "local"): Behavior<CounterState, CounterMsg> {
  return {
    type: "counter",
    outputs: [{ name: FIRED_TOPIC, partitions: 1 }],
    initial: () => ({ count: 0, seen: [], fired: [] }),
    receive(state, msg, ctx) {
      switch (msg.t) {
        case "add": {
          const next = { ...state, count: state.count + 1, seen: [...state.seen, msg.n] };
          ctx.reply(next.count);
          return next;
        }
        case "get":
          ctx.reply({ ...state, node, timers: Object.fromEntries(ctx.timers()) });
          return state;
        case "arm":
          ctx.setTimer(msg.name, ctx.now + msg.inMs, { t: "fire", name: msg.name });
          ctx.reply("armed");
          return state;
        case "fire":
          ctx.emit(
            FIRED_TOPIC,
            ctx.key,
            new TextEncoder().encode(JSON.stringify({ name: msg.name, node, at: ctx.now })),
          );
          return { ...state, fired: [...state.fired, msg.name] };
        case "boom":
          throw new Error("refused on purpose");
        case "forward":
          ctx.send(msg.to, { t: "add", n: msg.n });
          return state;
      }
    },
  };
}
