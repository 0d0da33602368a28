/**
 * U1 at every width, and the dashboard's feedback, in a real browser against a relay started
 * without PETREL_HOSTNAME, with data whose addresses and ids are long (a trusted sending domain, an
 * SMTP user, a second member, a message to three sandbox recipients):
 *  - every page at 390 and 360 px: no page-level horizontal scroll
 *    (`document.documentElement.scrollWidth ≤ viewport`), and the menu button opens the menu
 *    whose links lead to the pages;
 *  - at 1366 px, addresses and ids sit on one line (an ellipsis, never a mid-word break), the
 *    whole value in their `title`;
 *  - an unknown address answers an HTML 404 with the menu, whose links work;
 *  - ISO dates (YYYY-MM-DD) in the pages and the date fields (text, not the browser's MM/DD/YYYY);
 *  - success notices after a plan change and a member's removal;
 *  - the SMTP settings warn that the server name is not configured, never the machine's name.
 */
import { hostname } from "node:os";
import nodemailer from "nodemailer";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAGES } from "../../edge-api/web/nav.ts";
import { waitFor } from "../helpers/wait.ts";
import { browserUnavailable, launchChromium, reloads, screenshot, signIn } from "./browser.ts";
import { ADMIN, startWebStack, type WebStack } from "./stack.ts";

const skip = browserUnavailable();
const POLL = { timeout: 20_000, interval: 200 };
const DOMAIN = "notifications.a-rather-long-sending-domain-name.example-shop.test";
const MEMBER = "someone-with-a-really-long-address.for-the-layout-check@a-long-company-domain.test";
const RECIPIENTS = [
  "delivered+first-customer-with-a-long-address@sandbox.petrel.test",
  "delivered+second-customer-with-a-long-address@sandbox.petrel.test",
  "delivered+third@sandbox.petrel.test",
];

/** How many lines an element's text takes (its line boxes). */
const lines = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((els) =>
    els.map((el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      const tops = new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top)));
      return { text: el.textContent?.trim() ?? "", title: el.getAttribute("title") ?? "", lines: tops.size };
    }),
  );

const pageWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

describe.skipIf(skip)("dashboard at every width, errors and feedback (real Chromium)", () => {
  let stack: WebStack;
  let browser: Browser;
  let username = "";
  let paths: string[] = [];
  beforeAll(async () => {
    // No PETREL_HOSTNAME: an empty value is "unset" (the stack sets one otherwise).
    [stack, browser] = await Promise.all([startWebStack({ PETREL_HOSTNAME: "" }), launchChromium()]);
    expect((await stack.operator("POST", "/admin/accounts/acme/domains", { domain: DOMAIN })).status).toBe(
      201,
    );
    await stack.operator("POST", `/admin/accounts/acme/domains/${DOMAIN}/verify`, { trust: true });
    const user = await stack.operator("POST", "/admin/accounts/acme/smtp-users", { name: "Web shop" });
    expect(user.status).toBe(201);
    username = user.body.username;
    const member = await stack.operator("POST", "/admin/accounts/acme/members", {
      email: MEMBER,
      role: "custom",
      permissions: ["smtp.users"],
      password: "a member password 123",
    });
    expect(member.status).toBe(201);
    const t = nodemailer.createTransport({
      host: "127.0.0.1",
      port: stack.submissionPort,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: username, pass: user.body.password },
    });
    try {
      await t.sendMail({
        from: `order-confirmations-and-receipts@${DOMAIN}`,
        to: RECIPIENTS,
        subject: "Your order #2026-000123 has shipped",
        text: "Layout check.",
      });
    } finally {
      t.close();
    }
    await waitFor(
      async () =>
        ((await stack.operator("GET", "/admin/accounts/acme/activity")).body?.rows?.length ?? 0) >= 3,
      { timeoutMs: 30_000, intervalMs: 200, what: "three activity rows" },
    );
    paths = [
      ...PAGES.map((p) => p.path),
      `/domains/${DOMAIN}`,
      `/users/${username}`,
      "/activity?view=events",
    ];
  }, 200_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("every page at 390 and 360 px: no page-level horizontal scroll; the menu opens and leads on", async () => {
    for (const width of [390, 360]) {
      const context = await browser.newContext({ viewport: { width, height: 800 } });
      const page = await context.newPage();
      await signIn(page, stack.base, ADMIN, "/");
      for (const path of paths) {
        await page.goto(`${stack.base}${path}`);
        expect(await pageWidth(page), `${path} at ${width} px`).toBeLessThanOrEqual(width);
        // DNS record names and values readable on a phone: the value's box spans most of the card.
        if (path.startsWith("/domains/"))
          for (const w of await page
            .locator("table.records code")
            .evaluateAll((els) => els.map((e) => e.clientWidth)))
            expect(w, `record value width at ${width} px`).toBeGreaterThan(width / 2);
        await screenshot(page, `phone-${width}${path.replace(/[/?=]+/g, "-")}`);
      }
      // The menu: folded behind its button; open it and follow a link to each page.
      for (const target of PAGES) {
        const nav = page.getByRole("navigation", { name: "SMTP" });
        await expect(nav.isVisible()).resolves.toBe(false);
        const button = page.getByRole("button", { name: "Menu" });
        await button.click();
        await expect(button.getAttribute("aria-expanded")).resolves.toBe("true");
        await nav.getByRole("link", { name: target.label, exact: true }).click();
        await page.waitForURL((u) => u.pathname === target.path);
      }
      await page.getByRole("button", { name: "Menu" }).click();
      await expect(page.getByRole("button", { name: "Sign out" }).isVisible()).resolves.toBe(true);
      await screenshot(page, `phone-${width}-menu-open`);
      await context.close();
    }
  }, 200_000);

  it("at 1366 px, addresses and ids are never broken mid-word: one line, the whole value in the title", async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await signIn(page, stack.base, ADMIN, "/activity");
    const checks: [string, string][] = [
      ["/activity", "table.activity .addr, table.activity .ident"],
      ["/", "table.activity .addr"],
      ["/team", "table.members .addr"],
      ["/domains", "table.domains .addr"],
      [`/domains/${DOMAIN}`, "table.records code"],
      ["/users", "table.smtp-users .addr"],
    ];
    for (const [path, selector] of checks) {
      await page.goto(`${stack.base}${path}`);
      const found = await lines(page, selector);
      expect(found.length, `${selector} on ${path}`).toBeGreaterThan(0);
      for (const f of found) {
        expect(f.lines, `${f.text} on ${path}`).toBe(1);
        expect(f.title, `title of ${f.text}`).toBe(f.text);
      }
      expect(await pageWidth(page)).toBeLessThanOrEqual(1366);
      // The records' check column stays readable beside the long names (never a letter per line).
      if (path.startsWith("/domains/"))
        for (const w of await page.locator("td.check").evaluateAll((els) => els.map((e) => e.clientWidth)))
          expect(w).toBeGreaterThan(200);
      await screenshot(page, `desktop${path.replace(/[/?=.]+/g, "-")}`);
    }
    await context.close();
  }, 120_000);

  it("an unknown address answers an HTML 404 with the menu", async () => {
    const page = await browser.newPage();
    await signIn(page, stack.base, ADMIN, "/");
    const res = await page.goto(`${stack.base}/domain/typo`);
    expect(res?.status()).toBe(404);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Page not found");
    await expect(page.locator("main").textContent()).resolves.toContain("There is no page at /domain/typo");
    await screenshot(page, "not-found");
    await page.getByRole("navigation", { name: "SMTP" }).getByRole("link", { name: "Domains" }).click();
    await page.waitForURL((u) => u.pathname === "/domains");
    await page.close();
  });

  it("dates read YYYY-MM-DD, in the pages and in the date fields", async () => {
    const page = await browser.newPage();
    await signIn(page, stack.base, ADMIN, "/team");
    const added = await page.locator(`tr[data-member="${ADMIN.email}"] td[data-label="Added"]`).textContent();
    expect(added).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await page.goto(`${stack.base}/pricing`);
    await expect(page.locator(".current-plan").textContent()).resolves.toMatch(
      /Current period: \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}\./,
    );
    await page.goto(`${stack.base}/activity`);
    const from = page.getByLabel("From");
    await expect(from.getAttribute("type")).resolves.toBe("text");
    await expect(from.inputValue()).resolves.toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // A date typed the US way is refused with a sentence, not ignored.
    await from.fill("12/06/2026");
    await page.evaluate(() => {
      const f = document.querySelector<HTMLFormElement>("form.activity-filters");
      f?.setAttribute("novalidate", "");
      f?.submit();
    });
    await page.waitForURL((u) => u.searchParams.get("from") === "12/06/2026");
    await expect(page.locator("main [role=alert]").textContent()).resolves.toContain(
      "“12/06/2026” is not a date; use YYYY-MM-DD",
    );
    await page.goto(`${stack.base}/`);
    await expect(page.locator(".custom-range").getByLabel("From").inputValue()).resolves.toMatch(
      /^\d{4}-\d{2}-\d{2}$/,
    );
    await page.close();
  });

  it("notices after a plan change and a member's removal, shown once", async () => {
    const page = await browser.newPage();
    await signIn(page, stack.base, ADMIN, "/pricing");
    page.once("dialog", (d) => void d.accept());
    await reloads(page, () => page.getByRole("button", { name: "Upgrade to starter" }).click());
    await expect
      .poll(() => page.locator("[data-notice]").textContent(), POLL)
      .toBe("Your plan is now starter: its quota applies at once.");
    await page.reload();
    await expect(page.locator("[data-notice]").count()).resolves.toBe(0);

    await page.goto(`${stack.base}/team`);
    page.once("dialog", (d) => void d.accept());
    await reloads(page, () =>
      page.locator(`tr[data-member="${MEMBER}"]`).getByRole("button", { name: "Remove" }).click(),
    );
    await expect
      .poll(() => page.locator("[data-notice]").textContent(), POLL)
      .toContain(`${MEMBER} was removed from the team`);
    await screenshot(page, "team-notice");
    await page.close();
  });

  it("SMTP settings without PETREL_HOSTNAME warn the operator, never show the machine's name", async () => {
    const api = await stack.operator("GET", `/admin/accounts/acme/smtp-users/${username}`);
    expect(api.body.connection.server).toBeUndefined();
    const page = await browser.newPage();
    await signIn(page, stack.base, ADMIN, `/users/${username}`);
    const settings = page.getByRole("table", { name: "Connection settings" });
    await expect(settings.locator("#conn-server").count()).resolves.toBe(0);
    await expect(settings.locator("[data-server-missing]").textContent()).resolves.toContain(
      "set PETREL_HOSTNAME",
    );
    const row = await settings.getByRole("row", { name: /SMTP server/ }).textContent();
    expect(row).not.toMatch(new RegExp(`\\b${hostname().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`));
    await screenshot(page, "user-details-no-hostname");
    await page.close();
  });
});
