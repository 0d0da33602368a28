/**
 * The suppression list of one account (D8), actor `suppression:<accountId>`: hard-bounced
 * addresses are added by the domain actors (`source: hard_bounce`, with the reply that caused it
 * and the classifier's class and rule, issue 15); the API lists (newest first, paged), adds
 * (`source: manual`, idempotent), removes, and lifts in bulk by class, rule and time (`lift`, to
 * undo wrong suppressions after a misclassification). Every change is also published on the
 * compacted `suppressions` topic, which every node folds into a SuppressionView
 * (shared/suppression/): ingress looks recipients up there at RCPT (S9) and asks `has` only for an
 * account whose list the view does not hold yet — that first `has` publishes it.
 *
 * Addresses: the domain is lower-cased, the local part kept as given for display; lookups are
 * case-insensitive on the whole address (the entry's key is the lower-cased address), because
 * virtually every mailbox provider ignores the local part's case and suppressing `John@` and
 * `john@` together is the safe side.
 */
import { fromBase64Url, toBase64Url } from "../../shared/base64url.ts";
import { KINDS, type ReasonClass } from "../../shared/bounce/rules.ts";
import type { BounceDecision } from "../../shared/model/event.ts";
import {
  markerValue,
  SUPPRESSIONS_TOPIC,
  SUPPRESSIONS_TOPIC_SPEC,
  suppressionAddressKey,
  suppressionEntryKey,
  suppressionMarkerKey,
} from "../../shared/suppression/topic.ts";
import type { ActorContext, Behavior } from "../behavior.ts";
import { SUPPRESSION_ACTOR_TYPE, suppressionKey } from "../keys.ts";
import type { ActorSystem } from "../system.ts";

export const SUPPRESSION_SOURCES = ["hard_bounce", "manual"] as const;
export type SuppressionSource = (typeof SUPPRESSION_SOURCES)[number];

export interface SuppressionEntry {
  /** Local part as given, domain lower-cased. */
  address: string;
  /** A StatusReason for hard bounces (e.g. `unknown_user`); free text for manual entries. */
  reason: string;
  source: SuppressionSource;
  /** The recipient whose hard bounce added it. */
  recipientId?: string;
  /** The remote reply (or DSN diagnostic) of that hard bounce, verbatim. */
  reply?: string;
  /** The class and rule that decided it was hard (issue 15); absent for manual and older entries. */
  decision?: BounceDecision;
  /** When it was suppressed (ms). */
  at: number;
}

/** Which entries a bulk lift removes: all given criteria must match; at least one is given. */
export interface LiftFilter {
  class?: ReasonClass;
  /** A rule id exactly as the entry records it (e.g. `code:5.1.1`). */
  rule?: string;
  source?: SuppressionSource;
  /** Suppressed at or after (ms). */
  since?: number;
  /** Suppressed before (ms). */
  until?: number;
  /** Count, remove nothing. */
  dryRun?: boolean;
}

/** The class of an entry: its decision's, else (entries from before issue 15) its reason's. */
export function entryClass(e: Pick<SuppressionEntry, "decision" | "reason">): ReasonClass | undefined {
  if (e.decision) return e.decision.class;
  return Object.values(KINDS).find((k) => k.reason === e.reason)?.class;
}

/** Pure: does a bulk lift take this entry? */
export function liftMatches(e: SuppressionEntry, f: LiftFilter): boolean {
  if (f.class !== undefined && entryClass(e) !== f.class) return false;
  if (f.rule !== undefined && e.decision?.rule !== f.rule) return false;
  if (f.source !== undefined && sourceOf(e) !== f.source) return false;
  if (f.since !== undefined && e.at < f.since) return false;
  if (f.until !== undefined && e.at >= f.until) return false;
  return true;
}

export interface SuppressionState {
  /** By lower-cased address. */
  entries: Record<string, SuppressionEntry>;
  /**
   * The whole list is on the `suppressions` topic with its `complete` marker (issue 16), so every
   * node's SuppressionView answers for this account. Absent in states from before the topic: the
   * first `has` publishes the list.
   */
  published?: boolean;
}

/** Where a page starts: after this entry in newest-first order. */
export interface PageAfter {
  at: number;
  key: string;
}

export interface SuppressionPage {
  entries: SuppressionEntry[];
  /** Opaque cursor of the next page; absent on the last page. */
  next?: string;
}

export type SuppressionMsg =
  | {
      t: "add";
      address: string;
      reason: string;
      recipientId?: string;
      at?: number;
      source?: SuppressionSource;
      reply?: string;
      decision?: BounceDecision;
    }
  | { t: "remove"; address: string }
  | { t: "list" }
  | { t: "page"; limit: number; after?: PageAfter }
  | { t: "has"; address: string }
  /** Bulk lift (issue 15): removes the matching entries; replies with how many (and which). */
  | { t: "lift"; filter: LiftFilter }
  /** The account was erased after its retention period (C6): the list goes with it. */
  | { t: "erase" };

// — addresses (pure) —

const LOCAL_ATOM = /^[^\s"(),:;<>@[\\\]\p{Cc}]+$/u;
const LABEL = /^(?!-)[\p{L}\p{N}-]{1,63}(?<!-)$/u;
const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/**
 * A mailbox `local@domain` as a suppression entry stores it (local part as given, domain
 * lower-cased), or undefined when it is not one: dot-atom local part (UTF-8 allowed, SMTPUTF8),
 * at most 64 octets; a domain of at least two labels; at most 254 octets in all.
 */
export function normalizeAddress(raw: string): string | undefined {
  const s = raw.trim();
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1 || utf8Length(s) > 254) return undefined;
  const local = s.slice(0, at);
  const domain = s
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, "");
  if (utf8Length(local) > 64 || !LOCAL_ATOM.test(local)) return undefined;
  if (local.startsWith(".") || local.endsWith(".") || local.includes("..")) return undefined;
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined;
  return `${local}@${domain}`;
}

/** The lookup key: the whole address lower-cased. */
export const addressKey = suppressionAddressKey;

const encoder = new TextEncoder();

/** The entry on the `suppressions` topic (an empty value, a tombstone, when it is gone). */
function publishEntry(ctx: Ctx, address: string, entry: SuppressionEntry | undefined): void {
  const value = entry ? encoder.encode(JSON.stringify(entry)) : new Uint8Array(0);
  ctx.emit(SUPPRESSIONS_TOPIC, suppressionEntryKey(ctx.id, address), value);
}

/** The whole list, then the marker that tells every view it holds this account's list. */
function publishAll(ctx: Ctx, state: SuppressionState): SuppressionState {
  for (const [key, entry] of Object.entries(state.entries)) publishEntry(ctx, key, entry);
  ctx.emit(SUPPRESSIONS_TOPIC, suppressionMarkerKey(ctx.id), markerValue());
  return { ...state, published: true };
}

/** Older snapshots said `bounce` / `api`. */
function sourceOf(e: { source?: string; recipientId?: string }): SuppressionSource {
  if (e.source === "hard_bounce" || e.source === "bounce") return "hard_bounce";
  if (e.source === "manual" || e.source === "api") return "manual";
  return e.recipientId ? "hard_bounce" : "manual";
}

// — paging (pure): newest first, ties by address —

const newestFirst = (a: [string, SuppressionEntry], b: [string, SuppressionEntry]) =>
  b[1].at - a[1].at || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The key as base64url of UTF-8 (Web APIs only: this module is also loaded by the edge API). */
export function encodeCursor(after: PageAfter): string {
  return `${after.at}.${toBase64Url(new TextEncoder().encode(after.key))}`;
}

function keyOfCursor(s: string): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(fromBase64Url(s));
  } catch {
    return undefined;
  }
}

/** The position a cursor names; undefined when it is not one of ours. */
export function decodeCursor(cursor: string): PageAfter | undefined {
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{1,700})$/.exec(cursor);
  if (!m) return undefined;
  const key = keyOfCursor(m[2] as string);
  return key?.includes("@") ? { at: Number(m[1]), key } : undefined;
}

export function pageEntries(
  entries: Record<string, SuppressionEntry>,
  limit: number,
  after?: PageAfter,
): SuppressionPage {
  const sorted = Object.entries(entries).sort(newestFirst);
  const start = after
    ? sorted.findIndex(([k, e]) => e.at < after.at || (e.at === after.at && k > after.key))
    : 0;
  if (start < 0) return { entries: [] };
  const page = sorted.slice(start, start + limit);
  const last = page[page.length - 1];
  const more = start + limit < sorted.length;
  return {
    entries: page.map(([, e]) => ({ ...e, source: sourceOf(e) })),
    ...(more && last ? { next: encodeCursor({ at: last[1].at, key: last[0] }) } : {}),
  };
}

// — the actor —

type Ctx = ActorContext<SuppressionMsg>;

export function createSuppressionBehavior(): Behavior<SuppressionState, SuppressionMsg> {
  return {
    type: SUPPRESSION_ACTOR_TYPE,
    outputs: [SUPPRESSIONS_TOPIC_SPEC],
    initial: () => ({ entries: {} }),
    receive(state, msg, ctx) {
      switch (msg.t) {
        case "add": {
          const key = addressKey(msg.address);
          const existing = state.entries[key];
          // Idempotent: the first suppression stays (its time, reason and source).
          if (existing) {
            ctx.reply({ entry: { ...existing, source: sourceOf(existing) }, created: false });
            return state;
          }
          const entry: SuppressionEntry = {
            address: normalizeAddress(msg.address) ?? key,
            reason: msg.reason,
            source: msg.source ?? (msg.recipientId ? "hard_bounce" : "manual"),
            at: msg.at ?? ctx.now,
            ...(msg.recipientId ? { recipientId: msg.recipientId } : {}),
            ...(msg.reply !== undefined ? { reply: msg.reply } : {}),
            ...(msg.decision ? { decision: msg.decision } : {}),
          };
          ctx.reply({ entry, created: true });
          publishEntry(ctx, key, entry);
          return { ...state, entries: { ...state.entries, [key]: entry } };
        }
        case "remove": {
          const key = addressKey(msg.address);
          const gone = state.entries[key];
          ctx.reply(gone ? { ...gone, source: sourceOf(gone) } : null);
          if (!gone) return state;
          publishEntry(ctx, key, undefined);
          const { [key]: _gone, ...rest } = state.entries;
          return { ...state, entries: rest };
        }
        case "list":
          ctx.reply(pageEntries(state.entries, Number.MAX_SAFE_INTEGER).entries);
          return state;
        case "page":
          ctx.reply(pageEntries(state.entries, msg.limit, msg.after));
          return state;
        case "has":
          ctx.reply(state.entries[addressKey(msg.address)] !== undefined);
          // Once per account: from now on every node's view answers for it (no more asks).
          return state.published ? state : publishAll(ctx, state);
        case "lift": {
          const lifted = Object.keys(state.entries).filter((k) =>
            liftMatches(state.entries[k] as SuppressionEntry, msg.filter),
          );
          ctx.reply({ lifted: lifted.length });
          if (msg.filter.dryRun || lifted.length === 0) return state;
          const entries = { ...state.entries };
          for (const k of lifted) {
            delete entries[k];
            publishEntry(ctx, k, undefined);
          }
          return { ...state, entries };
        }
        case "erase":
          ctx.reply(Object.keys(state.entries).length);
          for (const key of Object.keys(state.entries)) publishEntry(ctx, key, undefined);
          return { ...state, entries: {} };
      }
    },
  };
}

/**
 * The one gateway to an account's suppression actor (D8): ingress's S9 check, the control plane
 * (AccountService's list/add/remove) and tests all go through it.
 */
export class SuppressionService {
  constructor(
    private readonly actors: Pick<ActorSystem, "ask">,
    private readonly askTimeoutMs?: number,
  ) {}
  add(
    accountId: string,
    address: string,
    reason = "manual",
    at?: number,
  ): Promise<{ entry: SuppressionEntry; created: boolean }> {
    return this.ask(accountId, {
      t: "add",
      address,
      reason,
      source: "manual",
      ...(at !== undefined ? { at } : {}),
    });
  }
  remove(accountId: string, address: string): Promise<SuppressionEntry | null> {
    return this.ask(accountId, { t: "remove", address });
  }
  /** Every entry, newest first. */
  list(accountId: string): Promise<SuppressionEntry[]> {
    return this.ask(accountId, { t: "list" });
  }
  page(accountId: string, limit: number, after?: PageAfter): Promise<SuppressionPage> {
    return this.ask(accountId, { t: "page", limit, ...(after ? { after } : {}) });
  }
  /** Removes the entries the filter matches (none with `dryRun`); how many it matched. */
  lift(accountId: string, filter: LiftFilter): Promise<{ lifted: number }> {
    return this.ask(accountId, { t: "lift", filter });
  }
  has(accountId: string, address: string): Promise<boolean> {
    return this.ask(accountId, { t: "has", address });
  }
  private ask<T>(accountId: string, msg: SuppressionMsg): Promise<T> {
    return this.actors.ask(suppressionKey(accountId), msg, this.askTimeoutMs) as Promise<T>;
  }
}
