/**
 * U1/C4 in a real browser against a real DNS server: sign in, add a domain through the form, land
 * on its page with the three CNAME records (DKIM 1, DKIM 2, Return-Path), each "Pending"; the
 * customer publishes two of them in their zone (Knot, tests/dns/server.ts, the relay's only
 * resolver through PETREL_DNS_SERVERS); "Verify now" → two records "Verified", the Return-Path
 * "Failed" with, visible in its row, the expected value, what DNS answered (NXDOMAIN), the error
 * and when it was checked; the domain stays "Pending" (never verified yet); the third published →
 * all "Verified". A4: the figures need "Access SMTP activities" (the admin has it). Delete asks
 * first, then the domain leaves the list with a notice shown once. A domain the operator trusted
 * reads as one state: "Verified by the operator", its records "Not checked", never "Pending".
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DnsServer, requireDnsServer, startDnsServer, testZone } from "../dns/server.ts";
import { browserUnavailable, launchChromium, reloads, screenshot, signIn } from "./browser.ts";
import { ADMIN, startWebStack, type WebStack } from "./stack.ts";

const skip = browserUnavailable();
/** Bounded waits for what the browser does after a request (hashing, reload). */
const POLL = { timeout: 15_000, interval: 100 };
const dnsAvailable = !skip && requireDnsServer("dashboard Domains suite (tests/web/domains.test.ts)");
const DOMAIN = "shop-example.test";

/** The verification word of one record row (Verified / Pending / Failed). */
const stateOf = (page: Page, kind: string) =>
  page.locator(`tr[data-record=${kind}] .status`).evaluate((el) => el.firstChild?.textContent?.trim());

describe.skipIf(skip || !dnsAvailable)("dashboard Domains (real Chromium, real DNS)", () => {
  let stack: WebStack;
  let browser: Browser;
  let dns: DnsServer;
  beforeAll(async () => {
    // The customer's zone exists from the start, without the records yet (each lookup: NXDOMAIN).
    dns = await startDnsServer({ zones: [testZone(DOMAIN, [])] });
    [stack, browser] = await Promise.all([
      startWebStack({ PETREL_DNS_SERVERS: dns.address }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await dns?.stop();
  });

  it("adds a domain, shows its three records, verifies them per record against DNS, deletes it", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, stack.base, ADMIN, "/domains");
    await expect(page.getByText("No sending domain yet.").count()).resolves.toBe(1);

    // A bad name: the API's sentence, and no navigation.
    await page.getByLabel("Domain name").fill("not a domain");
    await page.getByRole("button", { name: "Add a domain" }).click();
    await expect
      .poll(() => page.locator("form.add-domain [role=alert]").textContent(), POLL)
      .toMatch(/domain/);
    expect(new URL(page.url()).pathname).toBe("/domains");

    await page.getByLabel("Domain name").fill(DOMAIN);
    await page.getByRole("button", { name: "Add a domain" }).click();
    await page.waitForURL((u) => u.pathname === `/domains/${DOMAIN}`);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(DOMAIN);

    // The three records, each with name, type, value, copy buttons and its own state in words.
    const records = page.getByRole("table", { name: "DNS records to create at your DNS provider" });
    for (const label of ["DKIM 1", "DKIM 2", "Return-Path (MX and SPF)"])
      await expect(records.getByRole("rowheader", { name: label }).count()).resolves.toBe(1);
    const api = (await stack.operator("GET", `/admin/accounts/acme/domains/${DOMAIN}`)).body as {
      records: { kind: string; name: string; value: string }[];
    };
    expect(api.records.map((r) => r.kind)).toEqual(["dkim1", "dkim2", "return_path"]);
    for (const r of api.records) {
      const row = page.locator(`tr[data-record=${r.kind}]`);
      await expect(row.locator(`#${r.kind}-name`).textContent()).resolves.toBe(r.name);
      await expect(row.locator(`#${r.kind}-value`).textContent()).resolves.toBe(r.value);
      await expect(row.getByRole("cell", { name: "CNAME", exact: true }).count()).resolves.toBe(1);
      await expect(stateOf(page, r.kind)).resolves.toBe("Pending");
    }
    await expect(page.getByRole("button", { name: "Copy DKIM 1 value" }).count()).resolves.toBe(1);
    await expect(
      page.getByRole("button", { name: "Copy Return-Path (MX and SPF) name" }).count(),
    ).resolves.toBe(1);
    // A4: the admin holds "Access SMTP activities": the figures, soft and hard bounces apart.
    for (const f of ["Recipients", "Delivered", "Soft bounces", "Hard bounces"])
      await expect(page.locator(`[data-figure="${f}"] .value`).textContent()).resolves.toBe("0");
    await screenshot(page, "domain-before-verify");

    // The copy button puts the value on the clipboard.
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.base });
    await page.getByRole("button", { name: "Copy DKIM 1 value" }).click();
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()), POLL)
      .toBe(api.records[0]?.value);

    // The customer publishes DKIM 1 and DKIM 2, not the Return-Path; the zone answers before the click.
    const cname = (kind: string) => {
      const r = api.records.find((x) => x.kind === kind)!;
      return `${r.name}. IN CNAME ${r.value}.`;
    };
    await dns.reload([testZone(DOMAIN, [cname("dkim1"), cname("dkim2")])]);
    await reloads(page, () => page.getByRole("button", { name: "Verify now" }).click());
    await expect.poll(() => stateOf(page, "dkim1"), POLL).toBe("Verified");
    await expect(stateOf(page, "dkim2")).resolves.toBe("Verified");
    await expect(stateOf(page, "return_path")).resolves.toBe("Failed");
    // Never verified yet: the domain stays pending, and the page says how many records still fail.
    await expect(page.locator(".domain-state [data-state]").getAttribute("data-state")).resolves.toBe(
      "pending",
    );
    await expect(page.locator(".domain-state .hint").textContent()).resolves.toContain(
      "1 record is missing or wrong",
    );
    // The page after the check says what was checked and, per record, the expected value, what
    // DNS answered, the error and when — visible in the row, not only on hover.
    await expect(page.locator("[data-checked]").textContent()).resolves.toContain("2 of 3 verified");
    const failed = page.locator("tr[data-record=return_path]");
    const rp = api.records.find((r) => r.kind === "return_path")!;
    await expect(failed.locator("#return_path-value").textContent()).resolves.toBe(rp.value);
    await expect(failed.locator("[data-answer]").isVisible()).resolves.toBe(true);
    await expect(failed.locator("[data-answer]").textContent()).resolves.toMatch(/^NXDOMAIN \(ENOTFOUND\)/);
    await expect(failed.locator("[data-error]").textContent()).resolves.toContain(`${rp.name} was not found`);
    await expect(failed.locator("[data-checked-at]").textContent()).resolves.toMatch(
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/,
    );
    await expect(page.locator("tr[data-record=dkim1] [data-answer]").textContent()).resolves.toMatch(
      /^CNAME /,
    );
    await expect(page.locator("tr[data-record=dkim1] [data-error]").count()).resolves.toBe(0);
    await screenshot(page, "domain-after-verify");
    // The same state after a reload of the domain's own page (the check was recorded).
    await page.goto(`${stack.base}/domains/${DOMAIN}`);
    await expect(failed.locator("[data-answer]").textContent()).resolves.toMatch(/^NXDOMAIN/);

    // The third record published: every record verified, and so is the domain.
    await dns.reload([testZone(DOMAIN, [cname("dkim1"), cname("dkim2"), cname("return_path")])]);
    await reloads(page, () => page.getByRole("button", { name: "Verify now" }).click());
    await expect.poll(() => stateOf(page, "return_path"), POLL).toBe("Verified");
    await expect(page.locator(".domain-state [data-state]").getAttribute("data-state")).resolves.toBe(
      "verified",
    );
    await screenshot(page, "domain-verified");

    // The list: the domain, its state in words, 3 of 3 records verified, its figures.
    await page.getByRole("link", { name: "All domains" }).click();
    await page.waitForURL((u) => u.pathname === "/domains");
    const row = page.locator(`tr[data-domain="${DOMAIN}"]`);
    await expect(row.locator(".status").textContent()).resolves.toContain("Verified");
    await expect(row.textContent()).resolves.toContain("3 of 3");
    await expect(page.getByRole("columnheader", { name: "Bounces" }).count()).resolves.toBe(1);
    await screenshot(page, "domains-list");

    // Delete asks first: dismissing keeps the domain, accepting removes it.
    await page.getByRole("link", { name: DOMAIN }).click();
    await page.waitForURL((u) => u.pathname === `/domains/${DOMAIN}`);
    await expect(page.getByText("Sending from it stops; history stays.").count()).resolves.toBe(1);
    page.once("dialog", (d) => d.dismiss());
    await page.getByRole("button", { name: "Delete domain" }).click();
    expect((await stack.operator("GET", `/admin/accounts/acme/domains/${DOMAIN}`)).status).toBe(200);
    let question = "";
    page.once("dialog", (d) => {
      question = d.message();
      void d.accept();
    });
    await page.getByRole("button", { name: "Delete domain" }).click();
    await page.waitForURL((u) => u.pathname === "/domains");
    expect(question).toContain("Sending from it stops");
    await expect(page.locator(`tr[data-domain="${DOMAIN}"]`).count()).resolves.toBe(0);
    expect((await stack.operator("GET", `/admin/accounts/acme/domains/${DOMAIN}`)).status).toBe(404);
    // A success notice, shown once: the address loses it, a reload does not repeat it.
    await expect(page.locator("[data-notice]").textContent()).resolves.toContain(`Domain ${DOMAIN} deleted`);
    await expect.poll(() => new URL(page.url()).search, POLL).toBe("");
    await page.reload();
    await expect(page.locator("[data-notice]").count()).resolves.toBe(0);

    // A domain the operator trusted without DNS: one state, no "Pending" beside "Verified".
    const TRUSTED = "trusted-shop.test";
    expect((await stack.operator("POST", "/admin/accounts/acme/domains", { domain: TRUSTED })).status).toBe(
      201,
    );
    await stack.operator("POST", `/admin/accounts/acme/domains/${TRUSTED}/verify`, { trust: true });
    await page.goto(`${stack.base}/domains/${TRUSTED}`);
    await expect(page.locator(".domain-state .status").textContent()).resolves.toBe(
      "Verified by the operator",
    );
    for (const kind of ["dkim1", "dkim2", "return_path"])
      await expect(stateOf(page, kind)).resolves.toBe("Not checked");
    await expect(page.locator(".domain-state").textContent()).resolves.toContain(
      "not checked (trusted by the operator)",
    );
    await expect(page.locator("main").textContent()).resolves.not.toContain("Pending");
    await screenshot(page, "domain-trusted");
    await context.close();
  }, 150_000);
});
