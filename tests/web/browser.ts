/**
 * Headless Chromium for the dashboard tests (U1): Debian's `chromium` package driven by
 * playwright-core (no browser download). Missing Chromium is a loud skip locally and a failure
 * in CI (CI=true), where .ci/run installs it. Screenshots go to test-artifacts/screenshots/
 * (git-ignored), one per page and step, so a run leaves pictures of every page.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.PETREL_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = resolve(import.meta.dirname, "../../test-artifacts/screenshots");

/** Why the browser suites cannot run here, or "" when they can. */
export function browserUnavailable(): string {
  if (existsSync(CHROMIUM)) return "";
  const why = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (process.env.CI) throw new Error(`CI needs Chromium for the dashboard tests: ${why}`);
  console.warn(`\n${"!".repeat(78)}\n[petrel tests] SKIPPING BROWSER SUITES: ${why}\n${"!".repeat(78)}\n`);
  return why;
}

/**
 * As root and on a closed network: no sandbox, and none of Chromium's own background traffic
 * (its connections would be refused here, many at a time).
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/** A full-page screenshot named `<name>.png` under test-artifacts/screenshots/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name.replace(/[^a-z0-9._-]+/gi, "-")}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface Credentials {
  email: string;
  password: string;
}

/** Signs in through the sign-in form (C2) and waits for the page asked for. */
export async function signIn(page: Page, base: string, who: Credentials, path = "/"): Promise<void> {
  await page.goto(`${base}/sign-in?next=${encodeURIComponent(path)}`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.pathname === path);
}

/** Runs an action after which the page reloads (app.js `data-then="reload"`), and waits for the new page. */
export async function reloads(page: Page, action: () => Promise<unknown>): Promise<void> {
  const loaded = page.waitForEvent("load", { timeout: 20_000 });
  await action();
  await loaded;
}
