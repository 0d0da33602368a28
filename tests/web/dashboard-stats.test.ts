/**
 * Issue 14 point 2 in a real browser (A5, S14): after a sandbox-only session the Dashboard says
 * that the test recipients were not counted, shows "—" for the rates (no recipient with a final
 * status is counted), and its "show them" link counts them (the switch stays across the period
 * forms). "Validated domains" lists the account's verified domain only: not a domain added but not
 * verified, nor a domain never added that a refused MAIL FROM put in the figures.
 * Point 6 on the same page: the refused MAIL FROM's row names the recipient nodemailer pipelined after
 * it; a refused MAIL FROM with no recipient after it says "none given".
 * The whole relay (`npm start`, tests/web/stack.ts); mail in through 587 with nodemailer. Sandbox
 * recipients never leave the relay, so no DNS server is needed (the stack's resolver is a closed
 * loopback port).
 */
import nodemailer from "nodemailer";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient } from "../ingress/harness.ts";
import { browserUnavailable, launchChromium, screenshot, signIn } from "./browser.ts";
import { ACCOUNT, ADMIN, startWebStack, type WebStack } from "./stack.ts";

const skip = browserUnavailable();
const VERIFIED = "shop.test";
const UNVERIFIED = "pending.test";
const NEVER_ADDED = "never-added.test";
const SANDBOX = "sandbox.petrel.test";
const POLL = { timeout: 60_000, intervals: [250, 500, 1000] };

describe.skipIf(skip)("Dashboard statistics after a sandbox-only session (real Chromium)", () => {
  let stack: WebStack;
  let browser: Browser;
  let page: Page;
  let smtp = { username: "", password: "" };

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startWebStack(), launchChromium()]);
    for (const domain of [VERIFIED, UNVERIFIED])
      expect((await stack.operator("POST", `/admin/accounts/${ACCOUNT}/domains`, { domain })).status).toBe(
        201,
      );
    const trusted = await stack.operator("POST", `/admin/accounts/${ACCOUNT}/domains/${VERIFIED}/verify`, {
      trust: true,
    });
    expect(trusted.body.status).toBe("verified");
    const user = await stack.operator("POST", `/admin/accounts/${ACCOUNT}/smtp-users`, { name: "app" });
    expect(user.status).toBe(201);
    smtp = { username: user.body.username, password: user.body.password };
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, stack.base, ADMIN);
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function send(from: string, to: string[]) {
    const t = nodemailer.createTransport({
      host: "127.0.0.1",
      port: stack.submissionPort,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: smtp.username, pass: smtp.password },
    });
    try {
      return await t.sendMail({ from, to, subject: "Integration test", text: "Hello from the test." });
    } finally {
      t.close();
    }
  }

  const kpi = (key: string) => page.locator(`[data-kpi=${key}]`);
  const note = () => page.locator(".test-recipients");

  it("a sandbox-only session: “3 test recipients not counted — show them”, rates “—”", {
    timeout: 150_000,
  }, async () => {
    const sent = await send(
      `Shop <app@${VERIFIED}>`,
      ["delivered", "hardbounce", "softbounce"].map((u) => `${u}@${SANDBOX}`),
    );
    expect(sent.accepted).toHaveLength(3);
    // A sender domain never added is refused at MAIL FROM: a Rejected row with that sending domain.
    await expect(send(`app@${NEVER_ADDED}`, [`delivered@${SANDBOX}`])).rejects.toMatchObject({
      responseCode: 550,
    });

    await expect
      .poll(async () => {
        await page.goto(`${stack.base}/`);
        return note().getAttribute("data-test-recipients");
      }, POLL)
      .toBe("3");
    await expect(note().textContent()).resolves.toBe("3 test recipients not counted — show them");
    await expect(kpi("totalRecipients").locator(".value").textContent()).resolves.toBe("0");
    for (const k of ["deliveryRate", "softBounceRate", "hardBounceRate"]) {
      await expect(kpi(k).locator(".value").textContent()).resolves.toBe("—");
      await expect(kpi(k).getAttribute("data-value")).resolves.toBe("none");
    }
    // nodemailer pipelines RCPT after MAIL: the refused sender's row names that (test) recipient.
    const refused = page.locator("table.activity tbody tr[data-status=Rejected]");
    await expect
      .poll(async () => {
        await page.reload();
        return refused.first().getAttribute("data-recipient");
      }, POLL)
      .toBe(`delivered@${SANDBOX}`);
    await expect(refused.first().locator(".badge").textContent()).resolves.toBe("test");
    // A refused MAIL FROM with no recipient after it (raw socket): its row says none was given.
    const c = await RawClient.connect(stack.submissionPort);
    await c.reply();
    await c.cmd("EHLO client.test");
    await c.starttls();
    await c.cmd("EHLO client.test");
    const auth = Buffer.from(`\0${smtp.username}\0${smtp.password}`).toString("base64");
    expect(await c.cmd(`AUTH PLAIN ${auth}`)).toMatch(/^235 /);
    expect(await c.cmd("MAIL FROM:<app@nobody.test>")).toMatch(/^550 5\.7\.1 /);
    expect(await c.cmd("QUIT")).toMatch(/^221 /);
    c.close();
    const noRecipient = page.locator("table.activity tbody tr[data-status=Rejected] .no-recipient");
    await expect
      .poll(async () => {
        await page.reload();
        return noRecipient.count();
      }, POLL)
      .toBe(1);
    await expect(noRecipient.textContent()).resolves.toBe("none given (refused before any RCPT TO)");
    await screenshot(page, "dashboard-sandbox-only");
  });

  it("“Validated domains” lists the verified domain only", async () => {
    await page.goto(`${stack.base}/`);
    const rows = page.locator("table.domain-figures tbody tr");
    await expect(
      rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.domain)),
    ).resolves.toEqual([VERIFIED]);
  });

  it("“show them” counts the test recipients; the period buttons keep the switch; “leave them out” undoes it", async () => {
    await page.goto(`${stack.base}/`);
    await note().getByRole("link", { name: "show them" }).click();
    await page.waitForURL(/tests=include/);
    // The sandbox outcomes are final at once: 1 delivered, 1 soft, 1 hard of 3.
    await expect
      .poll(async () => {
        await page.reload();
        return kpi("deliveryRate").locator(".value").textContent();
      }, POLL)
      .toBe("33.33 %");
    await expect(kpi("totalRecipients").locator(".value").textContent()).resolves.toBe("3");
    await expect(note().textContent()).resolves.toBe("3 test recipients counted — leave them out");
    await screenshot(page, "dashboard-sandbox-included");

    await page.getByRole("button", { name: "Today" }).click();
    await page.waitForURL(/period=today/);
    expect(new URL(page.url()).searchParams.get("tests")).toBe("include");
    await expect(kpi("totalRecipients").locator(".value").textContent()).resolves.toBe("3");

    await note().getByRole("link", { name: "leave them out" }).click();
    await page.waitForURL((u) => !u.searchParams.has("tests"));
    expect(new URL(page.url()).searchParams.get("period")).toBe("today");
    await expect(kpi("deliveryRate").locator(".value").textContent()).resolves.toBe("—");
  });
});
