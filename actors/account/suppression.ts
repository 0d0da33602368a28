/**
 * The suppression list of one account (D8), actor `suppression:<accountId>`: hard-bounced
 * addresses are added by the domain actors; the API lists, adds and removes. Addresses are
 * compared case-insensitively on the domain and as given on the local part (RFC 5321 §2.4),
 * stored lower-cased whole for simplicity of lookup.
 */
import type { Behavior } from "../behavior.ts";
import { actorKey } from "../keys.ts";
import type { ActorSystem } from "../system.ts";

export interface SuppressionEntry {
  address: string;
  reason: string;
  /** "bounce" (added by delivery) or "api". */
  source: "bounce" | "api";
  recipientId?: string;
  at: number;
}

export interface SuppressionState {
  entries: Record<string, SuppressionEntry>;
}

export type SuppressionMsg =
  | {
      t: "add";
      address: string;
      reason: string;
      recipientId?: string;
      at?: number;
      source?: "bounce" | "api";
    }
  | { t: "remove"; address: string }
  | { t: "list" }
  | { t: "has"; address: string };

export const suppressionKey = (accountId: string) => actorKey("suppression", accountId);
const norm = (a: string) => a.trim().toLowerCase();

export function createSuppressionBehavior(): Behavior<SuppressionState, SuppressionMsg> {
  return {
    type: "suppression",
    initial: () => ({ entries: {} }),
    receive(state, msg, ctx) {
      switch (msg.t) {
        case "add": {
          const address = norm(msg.address);
          const entry: SuppressionEntry = {
            address,
            reason: msg.reason,
            source: msg.source ?? (msg.recipientId ? "bounce" : "api"),
            at: msg.at ?? ctx.now,
            ...(msg.recipientId ? { recipientId: msg.recipientId } : {}),
          };
          ctx.reply(entry);
          return { entries: { ...state.entries, [address]: entry } };
        }
        case "remove": {
          const address = norm(msg.address);
          ctx.reply(state.entries[address] !== undefined);
          if (!state.entries[address]) return state;
          const { [address]: _gone, ...rest } = state.entries;
          return { entries: rest };
        }
        case "list":
          ctx.reply(Object.values(state.entries).sort((a, b) => a.at - b.at));
          return state;
        case "has":
          ctx.reply(state.entries[norm(msg.address)] !== undefined);
          return state;
      }
    },
  };
}

/** Add/remove/list for the API (D8) and the ingress check (S9). */
export class SuppressionService {
  constructor(private readonly actors: ActorSystem) {}
  add(accountId: string, address: string, reason = "manual"): Promise<SuppressionEntry> {
    return this.ask(accountId, { t: "add", address, reason, source: "api" });
  }
  remove(accountId: string, address: string): Promise<boolean> {
    return this.ask(accountId, { t: "remove", address });
  }
  list(accountId: string): Promise<SuppressionEntry[]> {
    return this.ask(accountId, { t: "list" });
  }
  has(accountId: string, address: string): Promise<boolean> {
    return this.ask(accountId, { t: "has", address });
  }
  private ask<T>(accountId: string, msg: SuppressionMsg): Promise<T> {
    return this.actors.ask(suppressionKey(accountId), msg) as Promise<T>;
  }
}
