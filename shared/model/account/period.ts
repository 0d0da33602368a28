/**
 * Billing-period math (C1): a period starts at local midnight of the anniversary day in the
 * account's IANA time zone and ends where the next one starts. The anniversary day is clamped
 * to short months (31 → 28/29 Feb, 30 Apr …) but kept: after 28 Feb the next start is 31 Mar.
 * Pure functions over epoch milliseconds; time-zone rules (DST, historic offsets) from luxon,
 * which reads the runtime's ICU data. A local midnight that does not exist (a DST jump at
 * 00:00) starts at the first instant of that day that does.
 */
import { DateTime, IANAZone } from "luxon";

export interface PeriodBounds {
  /** Inclusive, epoch ms. */
  start: number;
  /** Exclusive, epoch ms. */
  end: number;
}

export function isValidTimeZone(zone: string): boolean {
  return typeof zone === "string" && zone.length > 0 && IANAZone.isValidZone(zone);
}

function checkArgs(anchorDay: number, zone: string): void {
  if (!Number.isInteger(anchorDay) || anchorDay < 1 || anchorDay > 31) {
    throw new RangeError(`anchor day must be 1–31, got ${anchorDay}`);
  }
  if (!isValidTimeZone(zone)) throw new RangeError(`unknown time zone ${JSON.stringify(zone)}`);
}

/** The day of month of `instant` in `zone`: the anniversary day of an account created then. */
export function anchorDayAt(instant: number, zone: string): number {
  if (!isValidTimeZone(zone)) throw new RangeError(`unknown time zone ${JSON.stringify(zone)}`);
  return DateTime.fromMillis(instant, { zone }).day;
}

/** Start of the period that begins in local month `month` (1–12) of `year`. */
export function periodStartIn(year: number, month: number, anchorDay: number, zone: string): number {
  checkArgs(anchorDay, zone);
  const first = DateTime.fromObject({ year, month, day: 1 }, { zone });
  const day = Math.min(anchorDay, first.daysInMonth ?? 28);
  // fromObject resolves a local time inside a DST gap forward, to the first instant that exists.
  return DateTime.fromObject({ year, month, day }, { zone }).toMillis();
}

function shift(year: number, month: number, by: number): [number, number] {
  const i = year * 12 + (month - 1) + by;
  return [Math.floor(i / 12), (i % 12) + 1];
}

/** The period containing `instant`. */
export function periodContaining(instant: number, anchorDay: number, zone: string): PeriodBounds {
  checkArgs(anchorDay, zone);
  const local = DateTime.fromMillis(instant, { zone });
  let [y, m] = [local.year, local.month];
  let start = periodStartIn(y, m, anchorDay, zone);
  if (instant < start) {
    [y, m] = shift(y, m, -1);
    start = periodStartIn(y, m, anchorDay, zone);
  }
  const [ny, nm] = shift(y, m, 1);
  return { start, end: periodStartIn(ny, nm, anchorDay, zone) };
}

/** The period right after the one that ends at `end` (its start is `end`). */
export function nextPeriod(end: number, anchorDay: number, zone: string): PeriodBounds {
  return periodContaining(end, anchorDay, zone);
}
