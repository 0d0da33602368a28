/**
 * Dashboard sessions as actors (C2, X2 "dashboard sessions hold on every node at once"): a session
 * made on one node is found by every node, because it lives in a session actor that Kafka places
 * on exactly one node, not in one node's memory. 64 shards, `session:<c>` with `c` the first
 * character of the SHA-256 of the session id (actors/keys.ts `sessionKey`); each shard keeps its
 * sessions in a Table keyed by that hash, so the id itself — the bearer secret in the cookie — is
 * never stored or sent on the bus. One TTL for all: rows are in expiry order, and each turn drops
 * the expired ones at the front.
 */
import type { Behavior } from "../behavior.ts";
import { SESSION_ACTOR_TYPE } from "../keys.ts";
import { Table } from "../table.ts";

export interface SessionRow {
  accountId: string;
  email: string;
  createdAt: number;
  expiresAt: number;
  /** Fingerprint of the member's password hash when the session was made: a new password ends it. */
  pw: string;
}

export type SessionMsg =
  | { t: "put"; hash: string; row: SessionRow }
  | { t: "get"; hash: string }
  | { t: "delete"; hash: string }
  | { t: "restamp"; hash: string; pw: string };

export interface SessionShard {
  rows: Table<SessionRow>;
}

/** Expired rows dropped per turn at most (a turn's cost stays bounded; the rest go next turn). */
const PRUNE_PER_TURN = 256;

function prune(rows: Table<SessionRow>, now: number): void {
  let n = 0;
  for (const [hash, row] of rows.entries()) {
    if (row.expiresAt > now || n++ >= PRUNE_PER_TURN) break;
    rows.delete(hash);
  }
}

const validRow = (r: SessionRow | undefined): r is SessionRow =>
  !!r &&
  typeof r.accountId === "string" &&
  typeof r.email === "string" &&
  typeof r.pw === "string" &&
  Number.isFinite(r.expiresAt);

export function createSessionBehavior(): Behavior<SessionShard, SessionMsg> {
  return {
    type: SESSION_ACTOR_TYPE,
    initial: () => ({ rows: new Table() }),
    encode: () => ({}),
    decode: () => ({ rows: new Table() }),
    tables: (s) => ({ rows: s.rows }) as Record<string, Table<unknown>>,
    receive(s, msg, ctx) {
      prune(s.rows, ctx.now);
      const row = typeof msg.hash === "string" ? s.rows.get(msg.hash) : undefined;
      const live = row && row.expiresAt > ctx.now ? row : undefined;
      switch (msg.t) {
        case "put":
          if (!validRow(msg.row)) throw new Error("invalid session row");
          s.rows.set(msg.hash, msg.row);
          ctx.reply(null);
          return s;
        case "get":
          ctx.reply(live ?? null);
          return s;
        case "delete":
          s.rows.delete(msg.hash);
          ctx.reply(null);
          return s;
        case "restamp":
          if (live && typeof msg.pw === "string") s.rows.set(msg.hash, { ...live, pw: msg.pw });
          ctx.reply(!!live);
          return s;
        default:
          ctx.reply(null);
          return s;
      }
    },
  };
}
