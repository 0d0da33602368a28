/** A behavior with a table, for the changelog tests: rows put and deleted, timers armed and disarmed. */
import type { Behavior } from "../../actors/behavior.ts";
import { Table } from "../../actors/table.ts";

export interface LedgerState {
  turns: number;
  rows: Table<{ v: string }>;
}

export type LedgerMsg =
  | { t: "put"; id: string; v: string }
  | { t: "del"; id: string }
  | { t: "arm"; name: string; at: number }
  | { t: "disarm"; name: string }
  | { t: "putThenFail"; id: string }
  | { t: "get" };

export interface LedgerView {
  turns: number;
  rows: [string, string][];
  timers: [string, number][];
}

export function ledgerBehavior(): Behavior<LedgerState, LedgerMsg> {
  return {
    type: "ledger",
    initial: () => ({ turns: 0, rows: new Table() }),
    encode: (s) => ({ turns: s.turns }),
    decode: (d) => ({ turns: (d as { turns: number }).turns, rows: new Table() }),
    tables: (s) => ({ rows: s.rows }) as Record<string, Table<unknown>>,
    receive(state, msg, ctx) {
      const s = { ...state, turns: state.turns + 1 };
      switch (msg.t) {
        case "put":
          s.rows.set(msg.id, { v: msg.v });
          return s;
        case "del":
          s.rows.delete(msg.id);
          return s;
        case "arm":
          ctx.setTimer(msg.name, msg.at, { t: "del", id: msg.name });
          return s;
        case "disarm":
          ctx.cancelTimer(msg.name);
          return s;
        case "putThenFail":
          s.rows.set(msg.id, { v: "half-written" });
          throw new Error("refused after a write, on purpose");
        case "get": {
          const v: LedgerView = {
            turns: state.turns,
            rows: [...state.rows.entries()].map(([id, r]) => [id, r.v]),
            timers: [...ctx.timers()].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
          };
          ctx.reply(v);
          return state;
        }
      }
    },
  };
}
