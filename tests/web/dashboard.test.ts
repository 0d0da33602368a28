/**
 * U1/A4 in a real browser: the Dashboard's period selector is a GET form, so the URL says the
 * period — presets (Today → hourly buckets, Last 7 days → daily ones), a custom range of calendar
 * days in the account's zone, and a wrong range answered by the API's own sentence. The view
 * works without the script too (`?view=cumulative`). A custom member with only "Access SMTP
 * activities" sees the Dashboard and Activity but not the Domains page (C2).
 * The figures changing with mail are in tests/web/activity.test.ts.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserUnavailable, launchChromium, screenshot, signIn } from "./browser.ts";
import { ACCOUNT, ADMIN, startWebStack, type WebStack } from "./stack.ts";

const skip = browserUnavailable();
const VIEWER = { email: "vic@acme.test", password: "a viewer's long password" };

describe.skipIf(skip)("Dashboard periods and views (real Chromium)", () => {
  let stack: WebStack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startWebStack(), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, stack.base, ADMIN);
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const points = () => page.locator("#chart-table tbody tr").count();
  const words = () => page.locator(".period-words").textContent();

  it("presets: Last 7 days by default (daily), Today hourly, Yesterday; the URL says the period", async () => {
    await page.goto(`${stack.base}/`);
    await expect(page.getByRole("heading", { name: "Dashboard", level: 1 }).count()).resolves.toBe(1);
    await expect(words()).resolves.toMatch(
      /^Last 7 days: \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2} \(Europe\/Paris\)$/,
    );
    await expect(points()).resolves.toBe(7);
    await expect(page.locator("#activity-chart").getAttribute("data-bucket")).resolves.toBe("day");
    for (const label of ["Total recipients", "Delivery rate", "Soft bounce rate", "Hard bounce rate"])
      await expect(page.getByRole("article", { name: label }).count()).resolves.toBe(1);

    await page.getByRole("button", { name: "Today" }).click();
    await page.waitForURL(/period=today/);
    await expect(page.getByRole("button", { name: "Today" }).getAttribute("aria-current")).resolves.toBe(
      "true",
    );
    await expect(
      page.getByRole("button", { name: "Last 7 days" }).getAttribute("aria-current"),
    ).resolves.toBeNull();
    await expect(words()).resolves.toMatch(/^Today: \d{4}-\d{2}-\d{2} /);
    await expect(page.locator("#activity-chart").getAttribute("data-bucket")).resolves.toBe("hour");
    const hours = await points();
    expect([23, 24, 25]).toContain(hours); // a DST day has 23 or 25
    await screenshot(page, "dashboard-today");

    await page.getByRole("button", { name: "Yesterday" }).click();
    await page.waitForURL(/period=yesterday/);
    await expect(words()).resolves.toMatch(/^Yesterday: /);
  });

  it("a custom range of calendar days; a reversed range gets the API's sentence", async () => {
    await page.goto(`${stack.base}/`);
    const range = page.getByRole("form", { name: "Custom range" });
    await range.getByLabel("From").fill("2026-10-01");
    await range.getByLabel("To").fill("2026-10-10");
    await range.getByRole("button", { name: "Apply range" }).click();
    await page.waitForURL(/period=custom/);
    const url = new URL(page.url());
    expect([url.searchParams.get("from"), url.searchParams.get("to")]).toEqual(["2026-10-01", "2026-10-10"]);
    await expect(words()).resolves.toBe("Custom range: 2026-10-01 to 2026-10-10 (Europe/Paris)");
    await expect(points()).resolves.toBe(10);
    await expect(
      range.getByRole("button", { name: "Apply range" }).getAttribute("aria-current"),
    ).resolves.toBe("true");
    await expect(range.getByLabel("From").inputValue()).resolves.toBe("2026-10-01");
    await screenshot(page, "dashboard-custom-range");

    await page.goto(`${stack.base}/?period=custom&from=2026-10-10&to=2026-10-01`);
    await expect(page.locator("main").getByRole("alert").textContent()).resolves.toMatch(/after/);
    await expect(page.locator("#activity-chart").count()).resolves.toBe(0);
  });

  it("the view is in the URL and works without the script", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const p = await context.newPage();
    await p.goto(`${stack.base}/sign-in`);
    await context.addCookies(await page.context().cookies());
    await p.goto(`${stack.base}/?period=30d&view=cumulative`);
    await expect(p.locator("#activity-chart").getAttribute("data-view")).resolves.toBe("cumulative");
    await expect(p.getByRole("button", { name: "Cumulative" }).getAttribute("aria-pressed")).resolves.toBe(
      "true",
    );
    await p.getByRole("button", { name: "New" }).click();
    await p.waitForURL(/view=new/);
    expect(new URL(p.url()).searchParams.get("period")).toBe("30d");
    await expect(p.locator("#activity-chart").getAttribute("data-view")).resolves.toBe("new");
    await expect(p.locator("#chart-table tbody tr").count()).resolves.toBe(30);
    await context.close();
  });

  it("a custom member with only “Access SMTP activities” sees the Dashboard, not Domains", async () => {
    const made = await stack.operator("POST", `/admin/accounts/${ACCOUNT}/members`, {
      ...VIEWER,
      role: "custom",
      permissions: ["smtp.activity"],
    });
    expect(made.status).toBe(201);
    const context = await browser.newContext();
    const p = await context.newPage();
    await p.goto(`${stack.base}/sign-in`);
    await p.getByLabel("Email").fill(VIEWER.email);
    await p.getByLabel("Password").fill(VIEWER.password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForURL((u) => u.pathname === "/");
    const menu = p.getByRole("navigation", { name: "SMTP" });
    await expect(menu.getByRole("link", { name: "Dashboard" }).count()).resolves.toBe(1);
    await expect(menu.getByRole("link", { name: "Activity" }).count()).resolves.toBe(1);
    await expect(menu.getByRole("link", { name: "Domains" }).count()).resolves.toBe(0);
    await expect(p.locator("[data-kpi=totalRecipients]").getAttribute("data-value")).resolves.toBe("0");
    await expect(p.getByRole("heading", { name: "Validated domains" }).count()).resolves.toBe(1);
    const activity = await p.goto(`${stack.base}/activity`);
    expect(activity?.status()).toBe(200);
    await context.close();
  });
});
