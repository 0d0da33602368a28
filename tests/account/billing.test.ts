/**
 * The account actor's billing side through the real ActorSystem on the LogBus, with a
 * ManualClock (C1, C6, A7, S8, S14): creation, plan up/down, rollover by timer, cancellation and
 * erasure, quota alerts once per period, releases across a rollover.
 */
import { afterEach, describe, expect, it } from "vitest";
import { suppressionKey } from "../../actors/keys.ts";
import type { AccountState, QuotaGrant } from "../../shared/model/account/protocol.ts";
import { waitFor } from "../helpers/wait.ts";
import { eventsOf, type Node, plan, startNode, tempDir } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function node(opts: Parameters<typeof startNode>[1] = {}): Promise<Node> {
  const n = await startNode(tempDir(cleanups), opts);
  cleanups.push(() => n.stop());
  return n;
}

const DAY = 86_400_000;
const T = (iso: string) => Date.parse(iso);

describe("account actor: billing", () => {
  it("creates an account whose period follows its time zone, once", async () => {
    const n = await node(); // clock: 2026-01-15T12:00Z = 07:00 in Toronto
    const s = await n.ask<AccountState>("a1", {
      t: "create",
      name: "Acme",
      plan: plan("starter"),
      timezone: "America/Toronto",
    });
    expect(s).toMatchObject({ exists: true, name: "Acme", status: "active", plan: "starter", anchorDay: 15 });
    expect(s.period).toEqual({
      start: T("2026-01-15T05:00:00Z"),
      end: T("2026-02-15T05:00:00Z"),
      plan: "starter",
      quota: 1_000,
      used: 0,
      priceCents: 1_500,
      currency: "USD",
    });
    expect(
      await n.raw("a1", { t: "create", name: "Again", plan: plan("free"), timezone: "UTC" }),
    ).toMatchObject({ ok: false, code: "account_exists" });
    expect(await n.raw("nope", { t: "get" })).toMatchObject({ ok: false, code: "account_not_found" });
    expect(
      await n.raw("a2", { t: "create", name: "X", plan: plan("free"), timezone: "Mars/Base" }),
    ).toMatchObject({ ok: false, code: "invalid_request" });
    await eventsOf(n, "created");
  });

  it("upgrades at once and downgrades at the next period, rolled over by the timer", async () => {
    const n = await node();
    await n.ask("up", { t: "create", name: "Up", plan: plan("free"), timezone: "UTC" });
    expect(await n.ask<QuotaGrant>("up", { t: "reserveQuota", n: 90 })).toMatchObject({
      granted: 90,
      used: 90,
      quota: 100,
    });
    expect(await n.ask<QuotaGrant>("up", { t: "reserveQuota", n: 20 })).toMatchObject({
      granted: 10,
      used: 100,
      reason: "quota_reached",
    });
    const up = await n.ask<{ account: AccountState; effective: string }>("up", {
      t: "changePlan",
      plan: plan("starter"),
    });
    expect(up.effective).toBe("now");
    expect(up.account.period).toMatchObject({ plan: "starter", quota: 1_000, used: 100, priceCents: 1_500 });
    expect(await n.ask<QuotaGrant>("up", { t: "reserveQuota", n: 20 })).toMatchObject({
      granted: 20,
      used: 120,
    });
    expect(await n.raw("up", { t: "changePlan", plan: plan("starter") })).toMatchObject({
      ok: false,
      code: "plan_unchanged",
    });

    await n.ask("down", { t: "create", name: "Down", plan: plan("pro"), timezone: "UTC" });
    await n.ask("down", { t: "reserveQuota", n: 7 });
    const down = await n.ask<{ account: AccountState; effective: string; effectiveAt: number }>("down", {
      t: "changePlan",
      plan: plan("free"),
    });
    expect(down.effective).toBe("next_period");
    expect(down.effectiveAt).toBe(T("2026-02-15T00:00:00Z"));
    expect(down.account).toMatchObject({ plan: "pro", pendingPlan: "free", period: { quota: 10_000 } });

    n.clock.advance(T("2026-02-15T00:00:00Z") - n.clock.now()); // the periodEnd timers fire; no message is sent
    const closed = await eventsOf(n, "period_closed", 2);
    expect(closed.map((e) => e.key).sort()).toEqual(["account:down", "account:up"]);
    const s = await n.ask<AccountState>("down", { t: "get" });
    expect(s.history).toEqual([
      {
        start: T("2026-01-15T00:00:00Z"),
        end: T("2026-02-15T00:00:00Z"),
        plan: "pro",
        quota: 10_000,
        used: 7,
        priceCents: 5_000,
        currency: "USD",
      },
    ]);
    expect(s.period).toEqual({
      start: T("2026-02-15T00:00:00Z"),
      end: T("2026-03-15T00:00:00Z"),
      plan: "free",
      quota: 100,
      used: 0,
      priceCents: 0,
      currency: "USD",
    });
    expect(s.plan).toBe("free");
    expect(s.pendingPlan).toBeUndefined();
  });

  it("withdraws a pending downgrade when the current plan is chosen again", async () => {
    const n = await node();
    await n.ask("w", { t: "create", name: "W", plan: plan("pro"), timezone: "UTC" });
    await n.ask("w", { t: "changePlan", plan: plan("free") });
    const r = await n.ask<{ account: AccountState; effective: string }>("w", {
      t: "changePlan",
      plan: plan("pro"),
    });
    expect(r.effective).toBe("now");
    expect(r.account.pendingPlan).toBeUndefined();
  });

  it("catches up every missed period when its timer fires late", async () => {
    const n = await node();
    await n.ask("late", { t: "create", name: "Late", plan: plan("free"), timezone: "Asia/Tokyo" });
    n.clock.advance(T("2026-04-20T00:00:00Z") - n.clock.now());
    await eventsOf(n, "period_closed", 3);
    const s = await n.ask<AccountState>("late", { t: "get" });
    expect(s.history.map((h) => new Date(h.start).toISOString())).toEqual([
      "2026-01-14T15:00:00.000Z",
      "2026-02-14T15:00:00.000Z",
      "2026-03-14T15:00:00.000Z",
    ]);
    expect(s.period.start).toBe(T("2026-04-14T15:00:00Z"));
    expect(s.period.end).toBe(T("2026-05-14T15:00:00Z"));
  });

  it("cancels at period end (sending stops) and erases after the retention", async () => {
    const n = await node({ retentionDays: 30 });
    await n.ask("c", { t: "create", name: "C", plan: plan("starter"), timezone: "UTC" });
    const c = await n.ask<{ cancelAt: number; eraseAt: number }>("c", { t: "cancel" });
    expect(c).toEqual({ cancelAt: T("2026-02-15T00:00:00Z"), eraseAt: T("2026-02-15T00:00:00Z") + 30 * DAY });
    expect(await n.ask("c", { t: "cancel" })).toEqual(c); // asked twice: the same dates
    expect(await n.ask<QuotaGrant>("c", { t: "reserveQuota", n: 3 })).toMatchObject({ granted: 3 });
    await waitFor(() => n.directory.account("c")?.sendingAllowed === true, { what: "directory account" });

    n.clock.advance(c.cancelAt - n.clock.now());
    await eventsOf(n, "cancelled");
    const s = await n.ask<AccountState>("c", { t: "get" });
    expect(s.status).toBe("cancelled");
    expect(s.history).toHaveLength(1);
    expect(await n.ask<QuotaGrant>("c", { t: "reserveQuota", n: 1 })).toMatchObject({
      granted: 0,
      reason: "account_inactive",
    });
    expect(await n.raw("c", { t: "changePlan", plan: plan("pro") })).toMatchObject({
      ok: false,
      code: "account_inactive",
    });
    expect(await n.directory.waitFor(() => n.directory.account("c")?.sendingAllowed === false)).toBe(true);

    const list = () => n.system.ask<{ address: string }[]>(suppressionKey("c"), { t: "list" });
    await n.system.ask(suppressionKey("c"), { t: "add", address: "gone@x.test", reason: "unknown_user" });
    expect((await list()).map((e) => e.address)).toEqual(["gone@x.test"]);

    n.clock.advance(c.eraseAt - n.clock.now());
    await eventsOf(n, "erased");
    expect(await n.raw("c", { t: "get" })).toMatchObject({ ok: false, code: "account_not_found" });
    await waitFor(async () => (await list()).length === 0, {
      what: "suppression list erased with the account",
    });
    expect(await n.directory.waitFor(() => n.directory.account("c") === undefined)).toBe(true);
  });

  it("alerts at 80, 90 and 100 % once per period (A7)", async () => {
    const n = await node();
    await n.ask("al", { t: "create", name: "Al", plan: plan("free"), timezone: "UTC" });
    await n.ask("al", { t: "reserveQuota", n: 80 });
    await n.ask("al", { t: "reserveQuota", n: 5 });
    await n.ask("al", { t: "releaseQuota", n: 10 });
    await n.ask("al", { t: "reserveQuota", n: 15 }); // 90 again: 80 is not repeated
    await n.ask("al", { t: "reserveQuota", n: 50 }); // granted 10, hits 100
    await n.ask("al", { t: "reserveQuota", n: 5 });
    const alerts = await waitFor(() => {
      const a = n.emitted.filter((e) => e.topic === "account.alerts");
      return a.length >= 3 ? a : undefined;
    });
    expect(alerts.map((a) => [a.key, a.value.threshold, a.value.used])).toEqual([
      ["account:al", 80, 80],
      ["account:al", 90, 90],
      ["account:al", 100, 100],
    ]);
    n.clock.advance(T("2026-02-15T00:00:00Z") - n.clock.now());
    await eventsOf(n, "period_closed");
    await n.ask("al", { t: "reserveQuota", n: 85 });
    const next = await waitFor(() => {
      const a = n.emitted.filter((e) => e.topic === "account.alerts");
      return a.length >= 4 ? a : undefined;
    });
    expect(next[3]?.value).toMatchObject({ threshold: 80, used: 85, periodStart: T("2026-02-15T00:00:00Z") });
    expect(n.emitted.filter((e) => e.topic === "account.alerts")).toHaveLength(4);
  });

  it("does not count test recipients (S14) and ignores a release from a closed period", async () => {
    const n = await node();
    await n.ask("q", { t: "create", name: "Q", plan: plan("free"), timezone: "UTC" });
    expect(await n.ask<QuotaGrant>("q", { t: "reserveQuota", n: 40, test: true })).toMatchObject({
      granted: 40,
      used: 0,
    });
    const g = await n.ask<QuotaGrant>("q", { t: "reserveQuota", n: 10 });
    expect(g).toMatchObject({ granted: 10, used: 10, periodStart: T("2026-01-15T00:00:00Z") });
    expect(
      await n.ask<QuotaGrant>("q", { t: "releaseQuota", n: 4, periodStart: g.periodStart }),
    ).toMatchObject({ used: 6 });
    n.clock.advance(T("2026-02-15T00:00:00Z") - n.clock.now());
    await eventsOf(n, "period_closed");
    await n.ask("q", { t: "reserveQuota", n: 5 });
    expect(
      await n.ask<QuotaGrant>("q", { t: "releaseQuota", n: 5, periodStart: g.periodStart }),
    ).toMatchObject({ used: 5 });
    expect(await n.raw("q", { t: "reserveQuota", n: -1 })).toMatchObject({
      ok: false,
      code: "invalid_request",
    });
  });

  it("gates sending on status: suspended grants nothing until reactivated", async () => {
    const n = await node();
    await n.ask("s", { t: "create", name: "S", plan: plan("free"), timezone: "UTC" });
    await n.ask("s", { t: "setStatus", status: "suspended" });
    expect(await n.ask<QuotaGrant>("s", { t: "reserveQuota", n: 1 })).toMatchObject({
      granted: 0,
      reason: "account_inactive",
    });
    expect(await n.directory.waitFor(() => n.directory.account("s")?.sendingAllowed === false)).toBe(true);
    await n.ask("s", { t: "setStatus", status: "active" });
    expect(await n.ask<QuotaGrant>("s", { t: "reserveQuota", n: 1 })).toMatchObject({ granted: 1 });
  });
});
