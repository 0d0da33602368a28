/**
 * Account lifecycle and billing handlers (C1, C6): create, plan change, cancel, status, the
 * period rollover (timer `periodEnd`) and the erasure after retention (timer `erase`).
 */
import {
  anchorDayAt,
  isValidTimeZone,
  nextPeriod,
  periodContaining,
} from "../../shared/model/account/period.ts";
import type { AccountMsg, AccountState, BillingPeriod, Plan } from "../../shared/model/account/protocol.ts";
import { suppressionKey } from "../keys.ts";
import { classifyPlanChange, eraseAtFor, isPlan } from "./plans.ts";
import { type Ctx, emitEvent, fail, type Handler, initialAccount, ok, TIMER } from "./state.ts";

type Msg<T extends AccountMsg["t"]> = Extract<AccountMsg, { t: T }>;

/** A runaway guard: a node down for a century still stops rolling. */
const MAX_ROLLOVERS = 1_200;

function periodFor(bounds: { start: number; end: number }, plan: Plan): BillingPeriod {
  return {
    ...bounds,
    plan: plan.name,
    quota: plan.monthlyRecipients,
    used: 0,
    priceCents: plan.priceCents,
    currency: plan.currency,
  };
}

/** The plan in force, as the current period carries it. */
export function currentPlan(s: AccountState): Plan {
  const p = s.period;
  return { name: s.plan, monthlyRecipients: p.quota, priceCents: p.priceCents, currency: p.currency };
}

export const create: Handler<Msg<"create">> = (s, msg, ctx) => {
  if (s.exists) return fail(ctx, s, "account_exists", `account ${s.id} exists`);
  const name = typeof msg.name === "string" ? msg.name.trim() : "";
  if (!name) return fail(ctx, s, "invalid_request", "an account needs a name");
  if (!isPlan(msg.plan)) return fail(ctx, s, "invalid_request", "invalid plan");
  if (!isValidTimeZone(msg.timezone))
    return fail(ctx, s, "invalid_request", `unknown time zone ${msg.timezone}`);
  const anchorDay = anchorDayAt(ctx.now, msg.timezone);
  const period = periodFor(periodContaining(ctx.now, anchorDay, msg.timezone), msg.plan);
  const next: AccountState = {
    ...initialAccount(s.id),
    exists: true,
    name,
    timezone: msg.timezone,
    createdAt: ctx.now,
    plan: msg.plan.name,
    anchorDay,
    period,
  };
  ctx.setTimer(TIMER.periodEnd, period.end, { t: "periodEnd" });
  emitEvent(ctx, "created", { plan: msg.plan.name, timezone: msg.timezone });
  return ok(ctx, next, next);
};

export const changePlan: Handler<Msg<"changePlan">> = (s, msg, ctx) => {
  if (s.status === "cancelled") return fail(ctx, s, "account_inactive", "the account is cancelled");
  if (!isPlan(msg.plan)) return fail(ctx, s, "invalid_request", "invalid plan");
  const kind = classifyPlanChange(currentPlan(s), msg.plan);
  const { pendingPlan: _p, pendingPlanSpec: _ps, ...rest } = s;
  if (kind === "unchanged") {
    if (s.pendingPlan === undefined) return fail(ctx, s, "plan_unchanged", `the plan is already ${s.plan}`);
    emitEvent(ctx, "plan_changed", { plan: s.plan, note: "pending downgrade withdrawn" });
    return ok(ctx, rest, { account: rest, effective: "now", effectiveAt: ctx.now });
  }
  if (kind === "upgrade") {
    const p = msg.plan;
    const next: AccountState = {
      ...rest,
      plan: p.name,
      period: {
        ...s.period,
        plan: p.name,
        quota: p.monthlyRecipients,
        priceCents: p.priceCents,
        currency: p.currency,
      },
    };
    emitEvent(ctx, "plan_changed", { from: s.plan, plan: p.name });
    return ok(ctx, next, { account: next, effective: "now", effectiveAt: ctx.now });
  }
  const next: AccountState = { ...s, pendingPlan: msg.plan.name, pendingPlanSpec: msg.plan };
  emitEvent(ctx, "plan_change_scheduled", { from: s.plan, plan: msg.plan.name, at: s.period.end });
  return ok(ctx, next, { account: next, effective: "next_period", effectiveAt: s.period.end });
};

export const cancel: Handler<Msg<"cancel">> = (s, _msg, ctx, o) => {
  if (s.status === "cancelled") return fail(ctx, s, "account_inactive", "the account is cancelled already");
  if (s.cancelAt !== undefined && s.eraseAt !== undefined)
    return ok(ctx, s, { cancelAt: s.cancelAt, eraseAt: s.eraseAt });
  const cancelAt = s.period.end;
  const eraseAt = eraseAtFor(cancelAt, o.retentionDays);
  const { pendingPlan: _p, pendingPlanSpec: _ps, ...rest } = s;
  ctx.setTimer(TIMER.erase, eraseAt, { t: "eraseDue" });
  emitEvent(ctx, "cancel_requested", { cancelAt, eraseAt });
  return ok(ctx, { ...rest, cancelAt, eraseAt }, { cancelAt, eraseAt });
};

export const setStatus: Handler<Msg<"setStatus">> = (s, msg, ctx) => {
  if (msg.status !== "active" && msg.status !== "suspended")
    return fail(ctx, s, "invalid_request", "status is active or suspended");
  if (s.status === "cancelled") return fail(ctx, s, "account_inactive", "the account is cancelled");
  if (s.status === msg.status) return ok(ctx, s, s);
  const next: AccountState = { ...s, status: msg.status };
  emitEvent(ctx, "status_changed", { from: s.status, status: msg.status });
  return ok(ctx, next, next);
};

/**
 * Closes every period that has ended by `ctx.now`: a history row each, the pending downgrade
 * applied, the counter and alerts reset; a requested cancellation takes effect at its period's
 * end. Runs before every message, so the state never lags a late timer.
 */
export function rollOver(s: AccountState, ctx: Ctx): AccountState {
  if (!s.exists || s.status === "cancelled" || ctx.now < s.period.end) return s;
  let next = s;
  for (let i = 0; i < MAX_ROLLOVERS && ctx.now >= next.period.end; i++) {
    const closed = next.period;
    emitEvent(ctx, "period_closed", { period: closed });
    if (next.cancelAt !== undefined && next.cancelAt <= closed.end) {
      next = { ...next, status: "cancelled", history: [...next.history, closed] };
      ctx.cancelTimer(TIMER.periodEnd);
      ctx.cancelTimer(TIMER.reverify);
      emitEvent(ctx, "cancelled", { eraseAt: next.eraseAt });
      return next;
    }
    const plan = next.pendingPlanSpec ?? currentPlan(next);
    if (next.pendingPlanSpec) emitEvent(ctx, "plan_changed", { from: next.plan, plan: plan.name });
    const { pendingPlan: _p, pendingPlanSpec: _ps, ...rest } = next;
    next = {
      ...rest,
      plan: plan.name,
      history: [...next.history, closed],
      period: periodFor(nextPeriod(closed.end, next.anchorDay, next.timezone), plan),
      alertsSent: [],
    };
  }
  ctx.setTimer(TIMER.periodEnd, next.period.end, { t: "periodEnd" });
  return next;
}

export const periodEnd: Handler<Msg<"periodEnd">> = (s, _msg, ctx) => {
  // rollOver already ran before dispatch; an early or stray timer re-arms for the real end.
  if (s.exists && s.status !== "cancelled") ctx.setTimer(TIMER.periodEnd, s.period.end, { t: "periodEnd" });
  return ok(ctx, s, null);
};

export const eraseDue: Handler<Msg<"eraseDue">> = (s, _msg, ctx) => {
  if (!s.exists || s.status !== "cancelled" || s.eraseAt === undefined) return ok(ctx, s, null);
  if (ctx.now < s.eraseAt) {
    ctx.setTimer(TIMER.erase, s.eraseAt, { t: "eraseDue" });
    return ok(ctx, s, null);
  }
  for (const name of ctx.timers().keys()) ctx.cancelTimer(name);
  // C6: the account's data goes — its suppression list (its own actor) with it.
  ctx.send(suppressionKey(s.id), { t: "erase" });
  emitEvent(ctx, "erased", { cancelAt: s.cancelAt });
  return ok(ctx, initialAccount(s.id), null);
};
