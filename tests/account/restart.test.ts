/**
 * The account actor survives a restart of its ActorSystem on the same LogBus directory: its state
 * comes back from the changelog, its timers (period end, erasure, re-verification) fire, and a
 * fresh DirectoryView reads the directory whole.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../actors/clock.ts";
import type { AccountState, QuotaGrant } from "../../shared/model/account/protocol.ts";
import { waitFor } from "../helpers/wait.ts";
import { domainFixture } from "./fixtures.ts";
import { eventsOf, plan, startNode, tempDir } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const T = (iso: string) => Date.parse(iso);

describe("account actor across a restart", () => {
  it("restores the account, its directory entries and its timers", async () => {
    const dir = tempDir(cleanups);
    const first = await startNode(dir, { reverifyHours: 48 });
    await first.ask("r", { t: "create", name: "Restart", plan: plan("pro"), timezone: "America/Toronto" });
    await first.ask("r", { t: "reserveQuota", n: 25 });
    await first.ask("r", { t: "changePlan", plan: plan("free") });
    await first.ask("r", { t: "createSmtpUser", username: "ptl_restart", name: "app", passwordHash: "h1" });
    await first.ask("r", { t: "addDomain", domain: domainFixture("restart.example") });
    await first.ask("gone", { t: "create", name: "Gone", plan: plan("free"), timezone: "UTC" });
    const cancel = await first.ask<{ cancelAt: number; eraseAt: number }>("gone", { t: "cancel" });
    const before = await first.ask<AccountState>("r", { t: "get" });
    await first.stop();

    const second = await startNode(dir, { clock: new ManualClock(first.clock.now()), reverifyHours: 48 });
    cleanups.push(() => second.stop());
    expect(await second.ask<AccountState>("r", { t: "get" })).toEqual(before);
    expect(second.directory.smtpUser("ptl_restart")).toMatchObject({
      accountId: "r",
      passwordHash: "h1",
      generation: 1,
    });
    expect(second.directory.account("gone")).toMatchObject({ sendingAllowed: true });

    // Period end (15 Feb, Toronto midnight): the downgrade applies, without any message.
    second.clock.advance(T("2026-02-15T05:00:00Z") - second.clock.now());
    const closed = await eventsOf(second, "period_closed", 2);
    expect(closed.map((e) => e.key).sort()).toEqual(["account:gone", "account:r"]);
    await eventsOf(second, "cancelled");
    const after = await second.ask<AccountState>("r", { t: "get" });
    expect(after.history).toHaveLength(1);
    expect(after.history[0]).toMatchObject({ plan: "pro", used: 25, quota: 10_000 });
    expect(after.period).toMatchObject({
      plan: "free",
      quota: 100,
      used: 0,
      start: T("2026-02-15T05:00:00Z"),
    });
    expect(await second.ask<QuotaGrant>("gone", { t: "reserveQuota", n: 1 })).toMatchObject({
      granted: 0,
      reason: "account_inactive",
    });
    // The re-verification timer (48 h after the domain was added) fired too.
    await waitFor(() =>
      second.emitted.some((e) => e.topic === "domain.verify" && e.value.domain === "restart.example"),
    );

    second.clock.advance(cancel.eraseAt - second.clock.now());
    await eventsOf(second, "erased");
    expect(await second.raw("gone", { t: "get" })).toMatchObject({ ok: false, code: "account_not_found" });
  });
});
