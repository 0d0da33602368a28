/**
 * U1/C2 in a real browser: a visitor without a session is sent to the sign-in page; a wrong
 * password shows the API's sentence; the right one lands on the page asked for, with the menu
 * and the quota bar; signing out ends the session.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserUnavailable, launchChromium, screenshot } from "./browser.ts";
import { ADMIN, startWebStack, type WebStack } from "./stack.ts";

const skip = browserUnavailable();

describe.skipIf(skip)("dashboard sign-in (real Chromium)", () => {
  let stack: WebStack;
  let browser: Browser;
  beforeAll(async () => {
    [stack, browser] = await Promise.all([startWebStack(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("redirects to sign-in, refuses a wrong password, signs in and out", async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.base}/domains`);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("wrong email or password");
    await screenshot(page, "sign-in-refused");

    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/domains$/);
    await screenshot(page, "signed-in");
    const menu = page.getByRole("navigation", { name: "SMTP" });
    for (const label of ["Dashboard", "Activity", "Domains", "Users", "Pricing", "Team"])
      await expect(menu.getByRole("link", { name: label }).count()).resolves.toBe(1);
    await expect(page.getByRole("link", { name: "Domains" }).getAttribute("aria-current")).resolves.toBe(
      "page",
    );
    await expect(page.locator(".quota").getAttribute("data-band")).resolves.toBe("blue");
    await expect(page.getByRole("progressbar").getAttribute("aria-valuemax")).resolves.toBe("10");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in/);
    await page.goto(`${stack.base}/`);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
  });
});
