/**
 * U1 with C2 and C6 in a real browser.
 * Team: add a custom member with chosen permissions (labels in words; a generated password shown
 * once); that member signs in in a second browser and sees only the menu entries of their
 * permissions, is refused the Team page, and sees a sentence instead of the domain figures without
 * "Access SMTP activities"; a role change applies on their next page; the API's refusal
 * (`last_admin`) shows as its sentence; removing the member ends their session.
 * Pricing: the catalog with the current plan marked; an upgrade applies at once (the quota bar's
 * limit changes), a downgrade from the next period; cancel asks first; billing history rows.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserUnavailable, launchChromium, reloads, screenshot, signIn } from "./browser.ts";
import { ADMIN, startWebStack, type WebStack } from "./stack.ts";

const skip = browserUnavailable();
/** Bounded waits for what the browser does after a request (hashing, reload). */
const POLL = { timeout: 15_000, interval: 100 };
const CARL = "carl@acme.test";

const menu = (page: Page) =>
  page.getByRole("navigation", { name: "SMTP" }).getByRole("link").allTextContents();

/** Accepts the next confirmation and keeps its question. */
function acceptNext(page: Page): { question: string } {
  const seen = { question: "" };
  page.once("dialog", (d) => {
    seen.question = d.message();
    void d.accept();
  });
  return seen;
}

describe.skipIf(skip)("dashboard Team and Pricing (real Chromium)", () => {
  let stack: WebStack;
  let browser: Browser;
  beforeAll(async () => {
    [stack, browser] = await Promise.all([startWebStack(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("Team: a custom member sees only their pages; roles change; last_admin is refused; removal", async () => {
    const admin = await browser.newPage();
    await signIn(admin, stack.base, ADMIN, "/team");
    const ann = admin.locator(`tr[data-member="${ADMIN.email}"]`);
    await expect(ann.textContent()).resolves.toContain("Administrator");

    const form = admin.locator("form.add-member");
    await form.getByLabel("Email").fill(CARL);
    await form.getByLabel("Role", { exact: true }).selectOption("custom");
    for (const label of [
      "Access SMTP activities",
      "Manage SMTP users",
      "Manage sending domains",
      "Plans and billing",
    ])
      await expect(form.getByLabel(label).count()).resolves.toBe(1);
    await form.getByLabel("Manage sending domains").check();
    await form.getByLabel("Manage SMTP users").check();
    await form.getByRole("button", { name: "Add member" }).click();
    const panel = admin.getByRole("region", { name: "Member added" });
    await expect.poll(() => panel.isVisible(), POLL).toBe(true);
    const password = (await panel.locator("#new-member-password").textContent()) ?? "";
    expect(password.length).toBeGreaterThanOrEqual(16);
    await expect(panel.getByText("Copy it now: it will not be shown again").count()).resolves.toBe(1);
    await screenshot(admin, "team-secret-shown");
    await reloads(admin, () => admin.getByRole("button", { name: "Done" }).click());
    const carlRow = admin.locator(`tr[data-member="${CARL}"]`);
    await expect.poll(() => carlRow.count(), POLL).toBe(1);
    expect(await admin.content()).not.toContain(password);
    await expect(carlRow.locator("li[data-permission]").allTextContents()).resolves.toEqual([
      "Manage SMTP users",
      "Manage sending domains",
    ]);
    await expect(carlRow.textContent()).resolves.toContain("Custom user");
    await screenshot(admin, "team");

    // Carl in a second browser: only Domains and Users; Team refused; no figures without smtp.activity.
    await stack.operator("POST", "/admin/accounts/acme/domains", { domain: "carl-shop.test" });
    const carlContext = await browser.newContext();
    const carl = await carlContext.newPage();
    await signIn(carl, stack.base, { email: CARL, password }, "/domains");
    await expect(menu(carl)).resolves.toEqual(["Domains", "Users"]);
    await expect(carl.locator(".figures-refused").textContent()).resolves.toContain("Access SMTP activities");
    await expect(carl.getByRole("columnheader", { name: "Bounces" }).count()).resolves.toBe(0);
    await carl.getByRole("link", { name: "carl-shop.test" }).click();
    await carl.waitForURL((u) => u.pathname === "/domains/carl-shop.test");
    await expect(carl.locator(".figures-refused").textContent()).resolves.toContain("Access SMTP activities");
    await expect(carl.locator("[data-figure]").count()).resolves.toBe(0);
    await expect(
      carl.getByRole("table", { name: "DNS records to create at your DNS provider" }).count(),
    ).resolves.toBe(1);
    await screenshot(carl, "team-custom-member-domain");
    await carl.goto(`${stack.base}/team`);
    await expect(carl.locator(".refusal").getAttribute("data-status")).resolves.toBe("403");
    await screenshot(carl, "team-custom-member-refused");

    // The admin makes Carl a regular user: his next page shows everything but billing and members.
    await carlRow.getByText("Change role").click();
    await carlRow.getByLabel("Role", { exact: true }).selectOption("regular");
    await reloads(admin, () => carlRow.getByRole("button", { name: "Save" }).click());
    await expect
      .poll(() => admin.locator(`tr[data-member="${CARL}"]`).textContent(), POLL)
      .toContain("Regular user");
    await carl.goto(`${stack.base}/domains`);
    await expect(menu(carl)).resolves.toEqual(["Dashboard", "Activity", "Domains", "Users"]);

    // The API's refusal, as its sentence: the last administrator keeps the role.
    await ann.getByText("Change role").click();
    await ann.getByLabel("Role", { exact: true }).selectOption("regular");
    await ann.getByRole("button", { name: "Save" }).click();
    await expect
      .poll(() => ann.locator("[data-role=error]").first().textContent(), POLL)
      .toContain("last administrator cannot lose the role");
    await screenshot(admin, "team-last-admin-refused");

    // Remove Carl (asks first): his row goes, his session ends.
    const asked = acceptNext(admin);
    await reloads(admin, () =>
      admin.locator(`tr[data-member="${CARL}"]`).getByRole("button", { name: "Remove" }).click(),
    );
    await expect.poll(() => admin.locator(`tr[data-member="${CARL}"]`).count(), POLL).toBe(0);
    expect(asked.question).toContain(CARL);
    await carl.goto(`${stack.base}/domains`);
    expect(new URL(carl.url()).pathname).toBe("/sign-in");
    await carlContext.close();
  }, 150_000);

  it("Pricing: plans, upgrade at once, downgrade from the next period, billing history, cancel", async () => {
    const page = await browser.newPage();
    await signIn(page, stack.base, ADMIN, "/pricing");
    const plans = page.getByRole("table", { name: "Plans" });
    await expect(plans.locator("tbody tr").count()).resolves.toBe(3);
    await expect(plans.locator('tr[aria-current="true"]').getAttribute("data-plan")).resolves.toBe("tiny");
    await expect(plans.locator('tr[data-plan="tiny"]').textContent()).resolves.toContain("Current plan");
    const limit = () => page.getByRole("progressbar").getAttribute("aria-valuemax");
    await expect(limit()).resolves.toBe("10");
    await screenshot(page, "pricing");

    // Upgrade: at once — the quota bar's limit is the new plan's.
    const up = acceptNext(page);
    await reloads(page, () => plans.getByRole("button", { name: "Upgrade to starter" }).click());
    await expect.poll(limit, POLL).toBe("20000");
    expect(up.question).toContain("at once");
    await expect(plans.locator('tr[aria-current="true"]').getAttribute("data-plan")).resolves.toBe("starter");
    const billing = page.getByRole("table", { name: "Billing history" });
    await expect(billing.locator("tbody tr").count()).resolves.toBe(1);
    const row = await billing.locator("tbody tr").first().textContent();
    expect(row).toContain("starter");
    expect(row).toContain("20,000");
    expect(row).toContain("$15.00");
    expect(row).toContain("(current)");
    await screenshot(page, "pricing-after-upgrade");

    // Downgrade: from the next period — the plan and the limit stay until then.
    const down = acceptNext(page);
    await reloads(page, () => plans.getByRole("button", { name: "Downgrade to tiny" }).click());
    await expect.poll(() => page.locator("[data-pending-plan]").count(), POLL).toBe(1);
    expect(down.question).toContain("next period");
    await expect(page.locator("[data-pending-plan]").textContent()).resolves.toContain("changes to tiny");
    await expect(limit()).resolves.toBe("20000");
    await expect(plans.locator('tr[data-plan="tiny"]').textContent()).resolves.toContain("Starts on");
    await screenshot(page, "pricing-downgrade-scheduled");
    // Keeping the current plan withdraws the scheduled change.
    acceptNext(page);
    await reloads(page, () => plans.getByRole("button", { name: "Keep starter" }).click());
    await expect.poll(() => page.locator("[data-pending-plan]").count(), POLL).toBe(0);

    // Cancel asks first; dismissed, nothing changes; accepted, sending stops at the period's end.
    page.once("dialog", (d) => void d.dismiss());
    await page.getByRole("button", { name: "Cancel the service" }).click();
    expect((await stack.operator("GET", "/admin/accounts/acme")).body.cancelAt).toBeUndefined();
    const cancel = acceptNext(page);
    await reloads(page, () => page.getByRole("button", { name: "Cancel the service" }).click());
    await expect.poll(() => page.getByText("Cancellation requested").count(), POLL).toBe(1);
    expect(cancel.question).toContain("Sending stops at the end of the period");
    expect((await stack.operator("GET", "/admin/accounts/acme")).body.cancelAt).toBeGreaterThan(Date.now());
    await screenshot(page, "pricing-cancel-requested");
  }, 150_000);
});
