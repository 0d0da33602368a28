/**
 * U1/C3 in a real browser and over real SMTP: create an SMTP user → its password is shown once in
 * the panel (and after "Done" it is nowhere in the page; the details page never shows it); that
 * user and password send a message through 587 (nodemailer, STARTTLS, AUTH) → 250; the details
 * page gives the connection settings from the API; reset → the old password is refused (535),
 * the new one works; delete → refused.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import nodemailer from "nodemailer";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserUnavailable, launchChromium, reloads, screenshot, signIn } from "./browser.ts";
import { ADMIN, startWebStack, type WebStack } from "./stack.ts";

const skip = browserUnavailable();
/** Bounded waits for what the browser does after a request (hashing, reload). */
const POLL = { timeout: 15_000, interval: 100 };
const SENDER_DOMAIN = "users-shop.test";

/** One message through 587 with these credentials: the server's reply, or the SMTP error. */
async function send(port: number, user: string, pass: string): Promise<{ code: number; text: string }> {
  const t = nodemailer.createTransport({
    host: "127.0.0.1",
    port,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  try {
    const info = await t.sendMail({
      from: `app@${SENDER_DOMAIN}`,
      to: "delivered@sandbox.petrel.test",
      subject: "Hello from the dashboard test",
      text: "Sent with the SMTP user created in the browser.",
    });
    return { code: Number(info.response.slice(0, 3)), text: info.response };
  } catch (e) {
    const err = e as { responseCode?: number; response?: string; message: string };
    return { code: err.responseCode ?? 0, text: err.response ?? err.message };
  } finally {
    t.close();
  }
}

describe.skipIf(skip)("dashboard Users (real Chromium, real SMTP)", () => {
  let stack: WebStack;
  let browser: Browser;
  beforeAll(async () => {
    [stack, browser] = await Promise.all([startWebStack(), launchChromium()]);
    // S7: the sender's domain must be verified; the operator trusts it (no DNS in this suite).
    const added = await stack.operator("POST", "/admin/accounts/acme/domains", { domain: SENDER_DOMAIN });
    expect(added.status).toBe(201);
    const trusted = await stack.operator("POST", `/admin/accounts/acme/domains/${SENDER_DOMAIN}/verify`, {
      trust: true,
    });
    expect(trusted.body.status).toBe("verified");
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("creates a user with the password shown once, sends with it, resets it, deletes it", async () => {
    const page = await browser.newPage();
    await signIn(page, stack.base, ADMIN, "/users");
    await expect(page.getByText("No SMTP user yet.").count()).resolves.toBe(1);

    await page.getByLabel("Name (optional)").fill("Web shop");
    await page.getByRole("button", { name: "Create an SMTP user" }).click();
    const panel = page.getByRole("region", { name: "SMTP user created" });
    await expect.poll(() => panel.isVisible(), POLL).toBe(true);
    const username = (await panel.locator("#new-user-username").textContent()) ?? "";
    const password = (await panel.locator("#new-user-password").textContent()) ?? "";
    expect(username).toMatch(/^\S{3,}$/);
    expect(password.length).toBeGreaterThanOrEqual(16);
    await expect(panel.getByText("Copy it now: it will not be shown again").count()).resolves.toBe(1);
    await expect(panel.getByRole("button", { name: "Copy password" }).count()).resolves.toBe(1);
    await screenshot(page, "users-secret-shown");

    // Done: the page reloads; the password is nowhere in its HTML, the user is in the list.
    await reloads(page, () => page.getByRole("button", { name: "Done" }).click());
    await expect.poll(() => page.locator(`tr[data-username="${username}"]`).count(), POLL).toBe(1);
    expect(await page.content()).not.toContain(password);
    await expect(page.locator(`tr[data-username="${username}"]`).textContent()).resolves.toContain(
      "Web shop",
    );
    await screenshot(page, "users-list");

    // C3 with S1/S2: that user and that password send through 587.
    const sent = await send(stack.submissionPort, username, password);
    expect(sent.code, sent.text).toBe(250);

    // Details: connection settings from the API, never the password.
    await page.getByRole("link", { name: `View details of ${username}` }).click();
    await page.waitForURL((u) => u.pathname === `/users/${username}`);
    const settings = page.getByRole("table", { name: "Connection settings" });
    await expect(settings.locator("#conn-server").textContent()).resolves.toBe("smtp.petrel.test");
    await expect(settings.locator("#conn-username").textContent()).resolves.toBe(username);
    await expect(
      settings.locator(`li[data-port="${stack.submissionPort}"]`).textContent(),
    ).resolves.toContain("STARTTLS");
    await expect(settings.getByRole("rowheader", { name: "Encryption" }).count()).resolves.toBe(1);
    // Issue 14 point 8: the generated certificate's fingerprint, as openssl prints it, to pin.
    const printed = execFileSync("openssl", [
      ...["x509", "-noout", "-fingerprint", "-sha256"],
      ...["-in", join(stack.relay.dataDir, "tls", "self-signed.cert.pem")],
    ]).toString();
    await expect(settings.locator("#conn-sha256").textContent()).resolves.toBe(printed.trim().split("=")[1]);
    expect(await page.content()).not.toContain(password);
    await screenshot(page, "user-details");

    // Reset (asks first): a new password shown once; the old one is refused at once, the new one works.
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Reset password" }).click();
    const reset = page.getByRole("region", { name: "New password" });
    await expect.poll(() => reset.isVisible(), POLL).toBe(true);
    const fresh = (await reset.locator("#reset-password").textContent()) ?? "";
    expect(fresh.length).toBeGreaterThanOrEqual(16);
    expect(fresh).not.toBe(password);
    await screenshot(page, "user-reset-secret");
    const old = await send(stack.submissionPort, username, password);
    expect(old.code, old.text).toBe(535);
    const again = await send(stack.submissionPort, username, fresh);
    expect(again.code, again.text).toBe(250);
    await reloads(page, () => page.getByRole("button", { name: "Done" }).click());
    await expect.poll(async () => (await page.content()).includes(fresh), POLL).toBe(false);
    await expect(reset.isVisible()).resolves.toBe(false);

    // Delete (asks first): back to the list without the user; its credentials are refused.
    let question = "";
    page.once("dialog", (d) => {
      question = d.message();
      void d.accept();
    });
    await page.getByRole("button", { name: "Delete SMTP user" }).click();
    await page.waitForURL((u) => u.pathname === "/users");
    expect(question).toContain(username);
    await expect(page.locator(`tr[data-username="${username}"]`).count()).resolves.toBe(0);
    const gone = await send(stack.submissionPort, username, fresh);
    expect(gone.code, gone.text).toBe(535);
    await page.goto(`${stack.base}/users/${username}`);
    await expect(page.locator(".refusal").getAttribute("data-status")).resolves.toBe("404");
  }, 150_000);
});
