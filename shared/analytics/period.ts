/**
 * Periods of Statistics and Activity (A2, A4) in the account's time zone, as pure functions of
 * `now`: Today, Yesterday, Last 7 days, Last 30 days (each ending at the end of today) or a custom
 * range. Days are calendar days of the zone, so a DST day is 23 or 25 hours long and a zone whose
 * midnight is not UTC midnight counts its own day.
 *
 * The previous period (A4's "change against the previous period of the same length") is the same
 * number of calendar days just before for presets and day-aligned custom ranges, and the same number
 * of milliseconds just before otherwise.
 */
import { DateTime } from "luxon";

export const PERIOD_PRESETS = ["today", "yesterday", "7d", "30d"] as const;
export type PeriodPreset = (typeof PERIOD_PRESETS)[number];

export interface Period {
  /** Inclusive, ms since the epoch. */
  from: number;
  /** Exclusive, ms since the epoch. */
  to: number;
  timezone: string;
  /** Calendar days covered, when the period is made of whole days of the zone; else undefined. */
  days?: number;
}

export type Bucket = "hour" | "day";

export class PeriodError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "PeriodError";
  }
}

export function isValidTimezone(tz: string): boolean {
  return DateTime.now().setZone(tz).isValid;
}

function zoned(ms: number, timezone: string): DateTime {
  const d = DateTime.fromMillis(ms, { zone: timezone });
  if (!d.isValid) throw new PeriodError("timezone", `unknown time zone ${JSON.stringify(timezone)}`);
  return d;
}

export function presetPeriod(preset: PeriodPreset, now: number, timezone: string): Period {
  const today = zoned(now, timezone).startOf("day");
  const span = (start: DateTime, days: number): Period => ({
    from: start.toMillis(),
    to: start.plus({ days }).toMillis(),
    timezone,
    days,
  });
  switch (preset) {
    case "today":
      return span(today, 1);
    case "yesterday":
      return span(today.minus({ days: 1 }), 1);
    case "7d":
      return span(today.minus({ days: 6 }), 7);
    case "30d":
      return span(today.minus({ days: 29 }), 30);
  }
}

/** A custom range [from, to). Day-aligned bounds (local midnights) keep calendar-day semantics. */
export function customPeriod(from: number, to: number, timezone: string): Period {
  if (!(to > from)) throw new PeriodError("to", "`to` must be after `from`");
  const a = zoned(from, timezone);
  const b = zoned(to, timezone);
  const aligned = a.equals(a.startOf("day")) && b.equals(b.startOf("day"));
  const days = aligned ? Math.round(b.diff(a, "days").days) : undefined;
  return { from, to, timezone, ...(days !== undefined ? { days } : {}) };
}

export function previousPeriod(p: Period): Period {
  if (p.days !== undefined) {
    const start = zoned(p.from, p.timezone).minus({ days: p.days });
    return { from: start.toMillis(), to: p.from, timezone: p.timezone, days: p.days };
  }
  return { from: p.from - (p.to - p.from), to: p.from, timezone: p.timezone };
}

/** Hourly buckets up to two days, daily beyond. */
export function bucketFor(p: Period): Bucket {
  return p.to - p.from <= 2 * 86_400_000 ? "hour" : "day";
}

/** Start of every bucket of the period, ms since the epoch, in the zone (DST-aware). */
export function bucketStarts(p: Period, bucket: Bucket): number[] {
  const out: number[] = [];
  let d = zoned(p.from, p.timezone).startOf(bucket);
  for (let i = 0; d.toMillis() < p.to && i < 10_000; i++) {
    out.push(d.toMillis());
    d =
      bucket === "hour"
        ? DateTime.fromMillis(d.toMillis() + 3_600_000, { zone: p.timezone })
        : d.plus({ days: 1 });
  }
  return out;
}

/** ISO 8601 with the zone's offset: how times leave the API (A1: account time zone). */
export function localIso(ms: number, timezone: string): string {
  return zoned(ms, timezone).toISO({ suppressMilliseconds: false }) ?? new Date(ms).toISOString();
}
