/** Quota handlers (S8, S14, A7): reserve and release recipients, alert at 80/90/100 %. */
import type { AccountMsg, AccountState, QuotaGrant } from "../../shared/model/account/protocol.ts";
import { ACCOUNT_ALERTS_TOPIC, type QuotaAlert } from "../../shared/model/account/topics.ts";
import { sendingAllowed } from "../../shared/model/account/views.ts";
import { alertsDue, isCount, release, reserve } from "./quota.ts";
import { type Ctx, emitJson, fail, type Handler, ok } from "./state.ts";

type Msg<T extends AccountMsg["t"]> = Extract<AccountMsg, { t: T }>;

export function grant(s: AccountState, granted: number, reason?: QuotaGrant["reason"]): QuotaGrant {
  return {
    granted,
    used: s.period.used,
    quota: s.period.quota,
    periodStart: s.period.start,
    ...(reason ? { reason } : {}),
  };
}

export const reserveQuota: Handler<Msg<"reserveQuota">> = (s, msg, ctx) => {
  if (!isCount(msg.n)) return fail(ctx, s, "invalid_request", "n must be a non-negative integer");
  const r = reserve(s.period, msg.n, { active: sendingAllowed(s, ctx.now), test: msg.test === true });
  const next = counted(s, r.used, ctx);
  return ok(ctx, next, grant(next, r.granted, r.reason));
};

/** The state with the period's counter at `used`, and the A7 alerts that crossing it is due. */
export function counted(s: AccountState, used: number, ctx: Ctx): AccountState {
  if (used === s.period.used) return s;
  let next: AccountState = { ...s, period: { ...s.period, used } };
  const due = alertsDue(next.period.quota, used, s.alertsSent);
  for (const threshold of due) {
    emitJson(ctx, ACCOUNT_ALERTS_TOPIC, {
      type: "quota_alert",
      accountId: s.id,
      threshold,
      used,
      quota: next.period.quota,
      periodStart: next.period.start,
      periodEnd: next.period.end,
      at: ctx.now,
    } satisfies QuotaAlert);
  }
  if (due.length > 0) next = { ...next, alertsSent: [...s.alertsSent, ...due] };
  return next;
}

export const releaseQuota: Handler<Msg<"releaseQuota">> = (s, msg, ctx) => {
  if (!isCount(msg.n)) return fail(ctx, s, "invalid_request", "n must be a non-negative integer");
  // A release for a period that has closed since the reservation changes nothing.
  if (msg.periodStart !== undefined && msg.periodStart !== s.period.start) return ok(ctx, s, grant(s, 0));
  const used = release(s.period.used, msg.n);
  const next = used === s.period.used ? s : { ...s, period: { ...s.period, used } };
  return ok(ctx, next, grant(next, 0));
};
