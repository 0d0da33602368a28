/** Quota (S8, S14, A7) and plan (C6) policy against literal tables. */
import { describe, expect, it } from "vitest";
import { classifyPlanChange, eraseAtFor } from "../../actors/account/plans.ts";
import { alertsDue, release, reserve } from "../../actors/account/quota.ts";
import type { Plan } from "../../shared/model/account/protocol.ts";
import { quotaBand, quotaView } from "../../shared/model/account/views.ts";

describe("reserve", () => {
  // [quota, used, n, active, test] → [granted, used after, reason]
  const TABLE: [number, number, number, boolean, boolean, number, number, string | undefined][] = [
    [100, 0, 10, true, false, 10, 10, undefined],
    [100, 95, 10, true, false, 5, 100, "quota_reached"],
    [100, 100, 1, true, false, 0, 100, "quota_reached"],
    [100, 100, 0, true, false, 0, 100, undefined],
    [100, 120, 5, true, false, 0, 120, "quota_reached"], // after a downgrade-like shrink: never negative
    [100, 50, 50, true, false, 50, 100, undefined],
    [100, 50, 10, false, false, 0, 50, "account_inactive"],
    [100, 100, 7, true, true, 7, 100, undefined], // S14: test recipients do not count
    [100, 10, 7, false, true, 0, 10, "account_inactive"],
    [0, 0, 3, true, false, 0, 0, "quota_reached"],
  ];
  it.each(TABLE)(
    "quota %i used %i reserve %i (active %s, test %s) → %i, %i, %s",
    (quota, used, n, active, test, granted, after, reason) => {
      const r = reserve({ quota, used }, n, { active, test });
      expect(r).toEqual({ granted, used: after, ...(reason ? { reason } : {}) });
    },
  );

  it("release gives back and never goes below zero", () => {
    expect(release(10, 3)).toBe(7);
    expect(release(2, 5)).toBe(0);
    expect(release(0, 0)).toBe(0);
  });
});

describe("alertsDue (A7)", () => {
  // [quota, used, already sent] → due
  const TABLE: [number, number, number[], number[]][] = [
    [100, 79, [], []],
    [100, 80, [], [80]],
    [100, 89, [80], []],
    [100, 95, [80], [90]],
    [100, 100, [], [80, 90, 100]],
    [100, 100, [80, 90, 100], []],
    [1000, 801, [], [80]],
    [0, 0, [], []],
    [3, 3, [80], [90, 100]],
  ];
  it.each(TABLE)("quota %i used %i sent %j → %j", (quota, used, sent, due) => {
    expect(alertsDue(quota, used, sent)).toEqual(due);
  });
});

describe("quota gauge (A7)", () => {
  const TABLE: [number, number, string, number][] = [
    [0, 100, "blue", 0],
    [80, 100, "blue", 80],
    [81, 100, "orange", 81],
    [99, 100, "orange", 99],
    [100, 100, "red", 100],
    [1, 3, "blue", 33.3],
    [0, 0, "red", 100],
  ];
  it.each(TABLE)("used %i of %i → %s %d%%", (used, quota, band, percent) => {
    expect(quotaBand(used, quota)).toBe(band);
    const v = quotaView({ start: 0, end: 1, plan: "p", quota, used, priceCents: 0, currency: "USD" });
    expect(v.percent).toBe(percent);
    expect(v.band).toBe(band);
  });
});

describe("plan changes (C6)", () => {
  const p = (name: string, monthlyRecipients: number, priceCents: number): Plan => ({
    name,
    monthlyRecipients,
    priceCents,
    currency: "USD",
  });
  const TABLE: [Plan, Plan, string][] = [
    [p("free", 100, 0), p("free", 100, 0), "unchanged"],
    [p("free", 100, 0), p("pro", 10_000, 5_000), "upgrade"],
    [p("pro", 10_000, 5_000), p("free", 100, 0), "downgrade"],
    [p("a", 1_000, 1_000), p("b", 1_000, 900), "downgrade"],
    [p("a", 1_000, 1_000), p("b", 1_000, 1_000), "upgrade"],
    [p("a", 1_000, 1_000), p("b", 2_000, 500), "upgrade"],
  ];
  it.each(TABLE)("%o → %o is %s", (from, to, kind) => {
    expect(classifyPlanChange(from, to)).toBe(kind);
  });

  it("erases retention days after cancellation takes effect", () => {
    expect(eraseAtFor(Date.UTC(2026, 1, 1), 30)).toBe(Date.UTC(2026, 2, 3));
    expect(eraseAtFor(Date.UTC(2026, 1, 1), 0)).toBe(Date.UTC(2026, 1, 1));
  });
});
