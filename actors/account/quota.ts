/**
 * Quota policy (S8, S14, A7) as pure functions. The counter of a period counts every recipient
 * accepted for delivery (delivered or bounced later); a recipient refused later in the same
 * transaction is released; sandbox/test recipients (S14) never count. A reservation never
 * grants more than what is left, so the counter can never overshoot the quota.
 */

import type { QuotaRefusal } from "../../shared/model/account/protocol.ts";

export interface Reservation {
  granted: number;
  /** The counter after the reservation. */
  used: number;
  reason?: QuotaRefusal;
}

/** Reserves up to `n` recipients out of `quota - used`. */
export function reserve(
  counter: { quota: number; used: number },
  n: number,
  opts: { active: boolean; test?: boolean },
): Reservation {
  const { quota, used } = counter;
  if (!opts.active) return { granted: 0, used, reason: "account_inactive" };
  if (opts.test) return { granted: n, used }; // S14: sandbox recipients do not consume quota
  const left = Math.max(0, quota - used);
  const granted = Math.min(n, left);
  return granted < n
    ? { granted, used: used + granted, reason: "quota_reached" }
    : { granted, used: used + granted };
}

/**
 * S8 as credit (issue 16): how many recipients to reserve for a node that needs `need` now and
 * asks for a block of `block`: the block while at least four blocks are left, else exactly what
 * it needs — so the last recipients of a period are never held as another node's unused credit,
 * and a small quota is reserved recipient by recipient as before.
 */
export function creditSize(counter: { quota: number; used: number }, need: number, block: number): number {
  const size = Math.max(need, block);
  return Math.max(0, counter.quota - counter.used) >= 4 * size ? size : need;
}

/** Gives back `n` reservations; the counter never goes below zero. */
export function release(used: number, n: number): number {
  return Math.max(0, used - n);
}

/** A7: the thresholds alerted once per period, in percent of the quota. */
export const ALERT_THRESHOLDS = [80, 90, 100] as const;

/**
 * The thresholds that `used` has reached (used ≥ t % of quota) and that were not alerted yet
 * this period, in ascending order. A quota of 0 alerts nothing: there is nothing to use up.
 */
export function alertsDue(quota: number, used: number, alreadySent: readonly number[]): number[] {
  if (quota <= 0) return [];
  return ALERT_THRESHOLDS.filter((t) => used * 100 >= t * quota && !alreadySent.includes(t));
}

/** A valid count of recipients for one reservation or release. */
export function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}
