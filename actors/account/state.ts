/**
 * Shared pieces of the account actor's handlers: the initial state, the options the behavior is
 * built with, and the two ways a handler answers (`ok`, `fail`).
 */

import type {
  AccountErrorCode,
  AccountMsg,
  AccountReply,
  AccountState,
} from "../../shared/model/account/protocol.ts";
import {
  ACCOUNT_EVENTS_TOPIC,
  type AccountEvent,
  type AccountEventType,
} from "../../shared/model/account/topics.ts";
import type { ActorContext } from "../behavior.ts";

export interface AccountBehaviorOptions {
  /** Partitions of the output topics (alerts, events, verification requests). */
  partitions: number;
  /** Config `accountRetentionDays` (C6). */
  retentionDays: number;
  /** Config `domainReverifyHours` (C4). */
  reverifyHours: number;
}

export type Ctx = ActorContext<AccountMsg>;
export type Handler<M extends AccountMsg = AccountMsg> = (
  s: AccountState,
  msg: M,
  ctx: Ctx,
  o: AccountBehaviorOptions,
) => AccountState;

/** Timer names: one each. */
export const TIMER = { periodEnd: "periodEnd", erase: "erase", reverify: "reverify" } as const;

export function initialAccount(id: string): AccountState {
  return {
    id,
    exists: false,
    name: "",
    status: "active",
    timezone: "UTC",
    createdAt: 0,
    plan: "",
    anchorDay: 1,
    period: { start: 0, end: 0, plan: "", quota: 0, used: 0, priceCents: 0, currency: "USD" },
    history: [],
    alertsSent: [],
    members: {},
    smtpUsers: {},
    domains: {},
    apiKeys: {},
  };
}

export function ok<T>(ctx: Ctx, s: AccountState, value: T): AccountState {
  ctx.reply({ ok: true, value } satisfies AccountReply<T>);
  return s;
}

export function fail(ctx: Ctx, s: AccountState, code: AccountErrorCode, message: string): AccountState {
  ctx.reply({ ok: false, code, message } satisfies AccountReply);
  return s;
}

const encoder = new TextEncoder();

export function emitJson(ctx: Ctx, topic: string, value: unknown): void {
  ctx.emit(topic, ctx.key, encoder.encode(JSON.stringify(value)));
}

export function emitEvent(ctx: Ctx, type: AccountEventType, detail: Record<string, unknown> = {}): void {
  emitJson(ctx, ACCOUNT_EVENTS_TOPIC, {
    type,
    accountId: ctx.id,
    at: ctx.now,
    ...detail,
  } satisfies AccountEvent);
}

/** Copy of a record with one key set (or removed when `value` is undefined). */
export function withEntry<V>(rec: Record<string, V>, key: string, value: V | undefined): Record<string, V> {
  const next = { ...rec };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}
