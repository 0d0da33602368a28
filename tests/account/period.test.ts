/**
 * Billing-period math (C1) against literal tables: the period containing an instant, from an
 * anniversary day in the account's IANA time zone, across month ends in non-UTC zones, DST
 * changes, and anchor days that short months do not have.
 */
import { describe, expect, it } from "vitest";
import {
  anchorDayAt,
  isValidTimeZone,
  nextPeriod,
  periodContaining,
} from "../../shared/model/account/period.ts";

const T = (iso: string) => Date.parse(iso);

// [instant, anchor day, zone, expected start, expected end] — all instants in UTC.
const TABLE: [string, number, string, string, string][] = [
  // UTC, plain month
  ["2026-01-15T12:00:00Z", 1, "UTC", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"],
  ["2026-01-31T23:59:59.999Z", 1, "UTC", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"],
  ["2026-02-01T00:00:00Z", 1, "UTC", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"],
  // America/Toronto (UTC-5 in winter): the month ends 5 hours after UTC's
  ["2026-02-01T04:59:59.999Z", 1, "America/Toronto", "2026-01-01T05:00:00Z", "2026-02-01T05:00:00Z"],
  ["2026-02-01T05:00:00Z", 1, "America/Toronto", "2026-02-01T05:00:00Z", "2026-03-01T05:00:00Z"],
  // Asia/Tokyo (UTC+9): the month ends 9 hours before UTC's
  ["2026-01-31T14:59:59.999Z", 1, "Asia/Tokyo", "2025-12-31T15:00:00Z", "2026-01-31T15:00:00Z"],
  ["2026-01-31T15:00:00Z", 1, "Asia/Tokyo", "2026-01-31T15:00:00Z", "2026-02-28T15:00:00Z"],
  // Anchor 31 clamped to February, then back to 31 in March (UTC, Tokyo, Toronto)
  ["2026-02-10T00:00:00Z", 31, "UTC", "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z"],
  ["2026-03-01T00:00:00Z", 31, "UTC", "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z"],
  ["2026-02-28T15:00:00Z", 31, "Asia/Tokyo", "2026-02-27T15:00:00Z", "2026-03-30T15:00:00Z"],
  ["2026-02-28T04:59:59Z", 31, "America/Toronto", "2026-01-31T05:00:00Z", "2026-02-28T05:00:00Z"],
  // Leap year: 29 February exists
  ["2024-02-29T12:00:00Z", 31, "UTC", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z"],
  ["2024-02-29T12:00:00Z", 30, "UTC", "2024-02-29T00:00:00Z", "2024-03-30T00:00:00Z"],
  // Anchor 30/31 in 30-day months
  ["2026-04-30T12:00:00Z", 31, "UTC", "2026-04-30T00:00:00Z", "2026-05-31T00:00:00Z"],
  ["2026-06-15T00:00:00Z", 31, "UTC", "2026-05-31T00:00:00Z", "2026-06-30T00:00:00Z"],
  // DST: Toronto springs forward on 8 March 2026 (UTC-5 → UTC-4); the period spans it
  ["2026-03-20T00:00:00Z", 1, "America/Toronto", "2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z"],
  ["2026-03-08T12:00:00Z", 8, "America/Toronto", "2026-03-08T05:00:00Z", "2026-04-08T04:00:00Z"],
  // DST: Toronto falls back on 1 November 2026 (UTC-4 → UTC-5)
  ["2026-11-01T04:30:00Z", 1, "America/Toronto", "2026-11-01T04:00:00Z", "2026-12-01T05:00:00Z"],
  ["2026-11-01T03:59:59Z", 1, "America/Toronto", "2026-10-01T04:00:00Z", "2026-11-01T04:00:00Z"],
  // Santiago starts DST at local midnight (6 Sep 2026): 00:00 does not exist, the day starts at 01:00
  ["2026-09-06T12:00:00Z", 6, "America/Santiago", "2026-09-06T04:00:00Z", "2026-10-06T03:00:00Z"],
  // Year boundary, in a zone ahead of UTC
  ["2025-12-31T15:30:00Z", 1, "Asia/Tokyo", "2025-12-31T15:00:00Z", "2026-01-31T15:00:00Z"],
  ["2025-12-31T14:30:00Z", 15, "Asia/Tokyo", "2025-12-14T15:00:00Z", "2026-01-14T15:00:00Z"],
];

describe("periodContaining", () => {
  it.each(TABLE)("%s anchor %i in %s → [%s, %s)", (at, anchor, zone, start, end) => {
    const p = periodContaining(T(at), anchor, zone);
    expect({ start: new Date(p.start).toISOString(), end: new Date(p.end).toISOString() }).toEqual({
      start: new Date(T(start)).toISOString(),
      end: new Date(T(end)).toISOString(),
    });
    expect(T(at) >= p.start && T(at) < p.end).toBe(true);
  });

  it("chains periods without gaps or overlaps for two years, whatever the anchor and zone", () => {
    for (const zone of ["UTC", "America/Toronto", "Asia/Tokyo", "Australia/Lord_Howe", "America/Santiago"]) {
      for (const anchor of [1, 15, 28, 29, 30, 31]) {
        let p = periodContaining(T("2026-01-05T00:00:00Z"), anchor, zone);
        for (let i = 0; i < 24; i++) {
          const n = nextPeriod(p.end, anchor, zone);
          expect(n.start).toBe(p.end);
          expect(n.end).toBeGreaterThan(n.start);
          p = n;
        }
      }
    }
  });

  it("rejects unknown zones and anchor days outside 1–31", () => {
    expect(() => periodContaining(0, 0, "UTC")).toThrow(RangeError);
    expect(() => periodContaining(0, 32, "UTC")).toThrow(RangeError);
    expect(() => periodContaining(0, 1, "Mars/Olympus")).toThrow(RangeError);
    expect(isValidTimeZone("America/Toronto")).toBe(true);
    expect(isValidTimeZone("Nowhere/City")).toBe(false);
  });
});

describe("anchorDayAt", () => {
  it.each([
    ["2026-01-31T23:30:00Z", "UTC", 31],
    ["2026-01-31T23:30:00Z", "Asia/Tokyo", 1],
    ["2026-02-01T02:00:00Z", "America/Toronto", 31],
  ] as const)("%s in %s is day %i", (at, zone, day) => {
    expect(anchorDayAt(T(at), zone)).toBe(day);
  });
});
