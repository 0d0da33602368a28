/**
 * U1 with A1–A7 in a real browser, end to end: the whole relay (`npm start`, tests/web/stack.ts)
 * resolving through a real DNS server (Knot, tests/dns/server.ts) and delivering to a real SMTP
 * server on loopback (smtp-server: accepts every address of rcpt.test but `nobody@`, which it
 * refuses with 550 5.1.1). Mail goes in through port 587 with nodemailer.
 *
 * - Activity: the rows appear with their status labels; a Hard bounce's reason shows on hover and
 *   on keyboard focus; filtering by recipient keeps only that recipient's rows; paging keeps the
 *   filters; the CSV export carries them too.
 * - Dashboard: the KPIs and the chart change (sandbox recipients are tests and stay out of the
 *   Statistics — docs/testing-your-integration.md — so the figures come from the rcpt.test ones);
 *   New/Cumulative flips aria-pressed and the chart's view; the cumulative last point = the total.
 * - Quota bar (A7, plan "tiny" = 10): 9 → orange, 10 → red with "sending blocked", the 11th is
 *   refused at SMTP and not counted (sandbox recipients never count either).
 * - A custom member without "Access SMTP activities" is kept out of Activity (C2).
 */
import { DateTime } from "luxon";
import nodemailer from "nodemailer";
import type { Browser, Page } from "playwright-core";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DnsServer, requireDnsServer, startDnsServer, testZone } from "../dns/server.ts";
import { freePort } from "../helpers/ports.ts";
import { browserUnavailable, launchChromium, screenshot, signIn } from "./browser.ts";
import { ACCOUNT, ADMIN, startWebStack, type WebStack } from "./stack.ts";

const skip =
  browserUnavailable() ||
  (requireDnsServer("dashboard activity (tests/web/activity.test.ts)") ? "" : "no DNS");

const SENDER = "shop.test";
const RCPT = "rcpt.test";
const SANDBOX = "sandbox.petrel.test";
const CUSTOM = { email: "cara@acme.test", password: "another long enough password" };
const POLL = { timeout: 60_000, intervals: [250, 500, 1000] };

describe.skipIf(skip)("Activity and Dashboard (real Chromium, real relay, real DNS and MX)", () => {
  let stack: WebStack;
  let browser: Browser;
  let dns: DnsServer;
  let sink: SMTPServer;
  let page: Page;
  let smtp = { username: "", password: "" };
  const received: string[] = [];

  beforeAll(async () => {
    dns = await startDnsServer({ zones: [testZone(RCPT, ["@ IN MX 10 mx", "mx IN A 127.0.0.1"])] });
    const sinkPort = await freePort();
    sink = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith("nobody@")) {
          const e = new Error("5.1.1 <nobody@rcpt.test>: Recipient address rejected: User unknown");
          (e as Error & { responseCode: number }).responseCode = 550;
          cb(e);
        } else cb();
      },
      onData(stream, session, cb) {
        stream.on("end", () => {
          received.push(...session.envelope.rcptTo.map((r) => r.address));
          cb();
        });
        stream.resume();
      },
    });
    await new Promise<void>((r) => sink.listen(sinkPort, "127.0.0.1", () => r()));
    [stack, browser] = await Promise.all([
      startWebStack({ PETREL_DNS_SERVERS: dns.address, PETREL_SMTP_OUT_PORT: String(sinkPort) }),
      launchChromium(),
    ]);
    expect(
      (await stack.operator("POST", `/admin/accounts/${ACCOUNT}/domains`, { domain: SENDER })).status,
    ).toBe(201);
    const trusted = await stack.operator("POST", `/admin/accounts/${ACCOUNT}/domains/${SENDER}/verify`, {
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
    await new Promise<void>((r) => (sink ? sink.close(() => r()) : r()));
    await dns?.stop();
  });

  async function send(to: string[], subject: string) {
    const t = nodemailer.createTransport({
      host: "127.0.0.1",
      port: stack.submissionPort,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: smtp.username, pass: smtp.password },
    });
    try {
      return await t.sendMail({ from: `Shop <app@${SENDER}>`, to, subject, text: `This is ${subject}.` });
    } finally {
      t.close();
    }
  }

  const kpi = (key: string) => page.locator(`[data-kpi=${key}]`);
  const statuses = (p: Page) =>
    p
      .locator("table.activity tbody tr")
      .evaluateAll((trs) =>
        trs.map((tr) => `${(tr as HTMLElement).dataset.recipient} ${(tr as HTMLElement).dataset.status}`),
      );
  /** The chart's datasets as Chart.js holds them (the drawn data). */
  const chartData = () =>
    page.evaluate(() => {
      const chart = (
        window as unknown as { Chart: { getChart(c: unknown): { data: { datasets: { data: number[] }[] } } } }
      ).Chart.getChart(document.getElementById("activity-canvas"));
      return chart.data.datasets.map((d) => d.data);
    });

  it("the Dashboard starts empty: zero recipients, no previous data, the New view", async () => {
    await page.goto(`${stack.base}/`);
    await expect(kpi("totalRecipients").getAttribute("data-value")).resolves.toBe("0");
    await expect(kpi("totalRecipients").locator(".change").textContent()).resolves.toBe("no previous data");
    await expect(page.locator("#activity-chart").getAttribute("data-view")).resolves.toBe("new");
    await expect(page.getByRole("button", { name: "New" }).getAttribute("aria-pressed")).resolves.toBe(
      "true",
    );
    const data = await chartData();
    expect(data).toHaveLength(4);
    expect(data[0]!.reduce((a, b) => a + b, 0)).toBe(0);
    await expect(
      page.getByRole("button", { name: "Last 7 days" }).getAttribute("aria-current"),
    ).resolves.toBe("true");
    await screenshot(page, "dashboard-empty");
  });

  it("sent messages show in Activity with their status labels; the reason shows on hover and on focus", async () => {
    const sandbox = await send(
      [`delivered@${SANDBOX}`, `hardbounce@${SANDBOX}`, `softbounce@${SANDBOX}`],
      "Sandbox check",
    );
    expect(sandbox.accepted).toHaveLength(3);
    const real = ["u1", "u2", "u3", "u4", "u5", "u6", "nobody"].map((u) => `${u}@${RCPT}`);
    const order = await send(real, "Order confirmation");
    expect(order.accepted).toHaveLength(7);

    await page.goto(`${stack.base}/activity`);
    await expect(page.getByRole("link", { name: "Activity" }).getAttribute("aria-current")).resolves.toBe(
      "page",
    );
    await expect
      .poll(async () => {
        await page.reload();
        const s = await statuses(page);
        return [
          `hardbounce@${SANDBOX} HardBounce`,
          `softbounce@${SANDBOX} SoftBounce`,
          `delivered@${SANDBOX} Delivered`,
          `u1@${RCPT} Delivered`,
          `nobody@${RCPT} HardBounce`,
        ].every((x) => s.includes(x));
      }, POLL)
      .toBe(true);
    expect(received).toContain(`u1@${RCPT}`);

    // The label says its status in words; the sandbox hard bounce's reason: unknown user.
    const row = page.locator(`tr[data-recipient="hardbounce@${SANDBOX}"][data-status=HardBounce]`);
    const label = row.locator(".status");
    await expect(label.textContent()).resolves.toContain("Hard bounce");
    const tip = row.locator("[role=tooltip]");
    await expect(label.getAttribute("aria-describedby")).resolves.toBe(await tip.getAttribute("id"));
    await expect(label.getAttribute("tabindex")).resolves.toBe("0");
    expect(await tip.isVisible()).toBe(false);
    await label.hover();
    expect(await tip.isVisible()).toBe(true);
    await expect(tip.textContent()).resolves.toMatch(/unknown user/i);
    await screenshot(page, "activity-tooltip-hover");
    await page.mouse.move(0, 0);
    expect(await tip.isVisible()).toBe(false);

    // Keyboard: from the row's time cell, Tab reaches the label; the reason shows on focus.
    await row.locator("time").click();
    await page.keyboard.press("Tab");
    await expect(label.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    expect(await tip.isVisible()).toBe(true);
    await page.keyboard.press("Escape"); // dismissible without moving focus (WCAG 1.4.13)
    expect(await tip.isVisible()).toBe(false);

    // The real hard bounce names the remote server's reply and its MX host.
    const nobodyTip = page
      .locator(`tr[data-recipient="nobody@${RCPT}"][data-status=HardBounce]`)
      .locator("[role=tooltip]");
    await expect(nobodyTip.textContent()).resolves.toMatch(/550.*User unknown/);
    // Issue 15: and why it was classified so, the class and the rule's words.
    await expect(nobodyTip.locator(".tip-why").textContent()).resolves.toMatch(
      /^Why: Hard bounce — unknown user \(.+\)$/,
    );
    // Delivered, Accepted: no reason to show, no tab stop.
    await expect(
      page.locator(`tr[data-recipient="u1@${RCPT}"][data-status=Delivered] .status`).getAttribute("tabindex"),
    ).resolves.toBeNull();
  });

  it("by recipient (the default view): a 7-recipient message gives 7 rows; More opens the timeline", async () => {
    await page.goto(`${stack.base}/activity?subject=${encodeURIComponent("Order confirmation")}`);
    await expect(page.getByRole("link", { name: "By recipient" }).getAttribute("aria-current")).resolves.toBe(
      "page",
    );
    const rows = await statuses(page);
    expect(rows).toHaveLength(7);
    expect(new Set(rows.map((r) => r.split(" ")[0])).size).toBe(7);
    expect(rows).toContain(`nobody@${RCPT} HardBounce`);
    const row = page.locator(`tr[data-recipient="u1@${RCPT}"]`);
    await row.getByText("More").click();
    const items = row.locator(".timeline-list li");
    await expect.poll(() => items.count(), POLL).toBeGreaterThanOrEqual(2);
    const steps = await items.evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.status));
    expect(steps[0]).toBe("Accepted");
    expect(steps.at(-1)).toBe("Delivered");
    // No page-level horizontal scroll with the timeline open.
    await expect(
      page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth),
    ).resolves.toBe(true);
    await screenshot(page, "activity-recipient-timeline");
    // The switch keeps the filters: every status change of the same message.
    await page.getByRole("link", { name: "Every status change" }).click();
    await page.waitForURL(/view=events/);
    expect((await statuses(page)).length).toBeGreaterThan(7);
    expect(new URL(page.url()).searchParams.get("subject")).toBe("Order confirmation");
  });

  // The events view (every status change): the search, paging and export below read it explicitly.
  it("filters by recipient, pages with Older keeping the filters, exports the same rows as CSV", async () => {
    await page.goto(`${stack.base}/activity?view=events`);
    await page.getByText("Advanced search").click();
    await page.getByLabel("Recipient", { exact: true }).fill(`hardbounce@${SANDBOX}`);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/recipient=/);
    const rows = await statuses(page);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(new Set(rows.map((r) => r.split(" ")[0]))).toEqual(new Set([`hardbounce@${SANDBOX}`]));
    expect(rows).toContain(`hardbounce@${SANDBOX} HardBounce`);
    expect(rows).toContain(`hardbounce@${SANDBOX} Accepted`);
    await expect(page.getByLabel("Recipient", { exact: true }).inputValue()).resolves.toBe(
      `hardbounce@${SANDBOX}`,
    );
    await page.locator(".status-HardBounce").first().hover();
    await screenshot(page, "activity-filtered-tooltip");

    // CSV export with the same filter (cookie auth on GET).
    const href = await page.getByRole("link", { name: "Export CSV" }).getAttribute("href");
    expect(href).toContain(`recipient=${encodeURIComponent(`hardbounce@${SANDBOX}`)}`);
    const csv = await page.request.get(`${stack.base}${href}`);
    expect(csv.status()).toBe(200);
    const lines = (await csv.text()).trim().split(/\r\n/);
    expect(lines[0]).toMatch(/^time,status,recipient/);
    expect(lines.length - 1).toBe(rows.length);
    expect(lines.slice(1).every((l) => l.includes(`hardbounce@${SANDBOX}`))).toBe(true);

    // By message id (the id shown in the row): every recipient of that message, nothing else.
    const messageId = (await page.locator("table.activity code").first().textContent())!.trim();
    await page.goto(`${stack.base}/activity?messageId=${encodeURIComponent(messageId)}`);
    await expect(page.getByLabel("Message id").inputValue()).resolves.toBe(messageId);
    const ofMessage = await statuses(page);
    expect(new Set(ofMessage.map((r) => r.split(" ")[0]))).toEqual(
      new Set([`delivered@${SANDBOX}`, `hardbounce@${SANDBOX}`, `softbounce@${SANDBOX}`]),
    );
    expect(new Set(await page.locator("table.activity code").allTextContents())).toEqual(
      new Set([messageId]),
    );

    // Paging: 10 rows a page, Older keeps the status filter and shows the next rows.
    await page.goto(`${stack.base}/activity?view=events`);
    await page.getByText("Advanced search").click();
    for (const s of ["Accepted", "Delivered"]) await page.getByLabel(s, { exact: true }).check();
    await page.getByLabel("Rows per page").selectOption("10");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/limit=10/);
    const first = await statuses(page);
    expect(first).toHaveLength(10);
    await page.getByRole("link", { name: "Older" }).click();
    await page.waitForURL(/cursor=/);
    const url = new URL(page.url());
    expect(url.searchParams.getAll("status")).toEqual(["Accepted", "Delivered"]);
    const second = await statuses(page);
    expect(second.length).toBeGreaterThan(0);
    expect(second.every((r) => / (Accepted|Delivered)$/.test(r))).toBe(true);
    const ids = await page.locator("table.activity time").allTextContents();
    expect(ids.length).toBe(second.length);
    await expect(page.getByRole("link", { name: "Newest" }).count()).resolves.toBe(1);
  });

  it("the Dashboard's KPIs and chart change; New/Cumulative switches the chart", async () => {
    // 7 accepted rcpt.test recipients: 6 delivered, 1 hard bounce; the sandbox ones are tests.
    await expect
      .poll(async () => {
        await page.goto(`${stack.base}/`);
        return [
          await kpi("totalRecipients").getAttribute("data-value"),
          await kpi("deliveryRate").getAttribute("data-value"),
        ];
      }, POLL)
      .toEqual(["7", "85.71"]);
    await expect(kpi("hardBounceRate").getAttribute("data-value")).resolves.toBe("14.29");
    await expect(kpi("totalRecipients").locator(".value").textContent()).resolves.toBe("7");
    await expect(kpi("deliveryRate").locator(".value").textContent()).resolves.toBe("85.71 %");
    await expect(kpi("totalRecipients").locator(".change").textContent()).resolves.toBe("no previous data");

    const newData = await chartData();
    expect(newData[0]!.reduce((a, b) => a + b, 0)).toBe(7); // recipients
    expect(newData[1]!.reduce((a, b) => a + b, 0)).toBe(6); // delivered
    expect(newData[3]!.reduce((a, b) => a + b, 0)).toBe(1); // hard bounces
    const domainRow = page.locator(`tr[data-domain="${SENDER}"]`);
    await expect(domainRow.getByRole("link", { name: SENDER }).getAttribute("href")).resolves.toBe(
      `/domains/${SENDER}`,
    );
    await expect(domainRow.locator("td").first().textContent()).resolves.toBe("7");
    await expect(page.locator("table.activity tbody tr").count()).resolves.toBe(10);
    await screenshot(page, "dashboard-new");

    const newBtn = page.getByRole("button", { name: "New" });
    const cumBtn = page.getByRole("button", { name: "Cumulative" });
    await cumBtn.click();
    await expect(cumBtn.getAttribute("aria-pressed")).resolves.toBe("true");
    await expect(newBtn.getAttribute("aria-pressed")).resolves.toBe("false");
    await expect(page.locator("#activity-chart").getAttribute("data-view")).resolves.toBe("cumulative");
    expect(new URL(page.url()).searchParams.get("view")).toBe("cumulative");
    const cum = await chartData();
    expect(cum[0]!.at(-1)).toBe(7);
    expect(cum[1]!.at(-1)).toBe(6);
    // Cumulative = the running sum of New, series by series.
    for (const [i, series] of newData.entries()) {
      let acc = 0;
      expect(cum[i]).toEqual(series.map((v) => (acc += v)));
    }
    await screenshot(page, "dashboard-cumulative-7d");

    // Today and tomorrow (hourly): New ends at 0 after the sending hour, Cumulative stays at 7.
    const day = (d: number) => DateTime.now().setZone("Europe/Paris").plus({ days: d }).toISODate();
    await page.goto(`${stack.base}/?period=custom&from=${day(0)}&to=${day(1)}&view=new`);
    await expect(page.locator("#activity-chart").getAttribute("data-bucket")).resolves.toBe("hour");
    const hourly = await chartData();
    expect(hourly[0]!.reduce((a, b) => a + b, 0)).toBe(7);
    expect(hourly[0]!.at(-1)).toBe(0);
    await cumBtn.click();
    await expect(page.locator("#activity-chart").getAttribute("data-view")).resolves.toBe("cumulative");
    const hourlyCum = await chartData();
    expect(hourlyCum[0]!.at(-1)).toBe(7);
    expect(hourlyCum[0]).not.toEqual(hourly[0]);
    for (const [i, series] of hourly.entries()) {
      let acc = 0;
      expect(hourlyCum[i]).toEqual(series.map((v) => (acc += v)));
    }
    await page.getByText("Chart data as a table").click();
    const lastRow = page.locator("#chart-table tbody tr").last();
    await expect(lastRow.locator("td").first().textContent()).resolves.toBe("7");
    await expect(page.locator("#chart-table caption").textContent()).resolves.toContain("cumulative");
    await screenshot(page, "dashboard-cumulative");

    // The view is in the URL: a reload keeps it; the period presets keep it too.
    await page.reload();
    await expect(page.locator("#activity-chart").getAttribute("data-view")).resolves.toBe("cumulative");
    await page.getByRole("button", { name: "Last 30 days" }).click();
    await page.waitForURL(/period=30d/);
    expect(new URL(page.url()).searchParams.get("view")).toBe("cumulative");
    await expect(kpi("totalRecipients").getAttribute("data-value")).resolves.toBe("7");
    await newBtn.click();
    await expect(page.locator("#activity-chart").getAttribute("data-view")).resolves.toBe("new");
    const month = await chartData();
    expect(month[0]).toHaveLength(30); // one point a day
    expect(month[0]!.reduce((a, b) => a + b, 0)).toBe(7);
  });

  it("the quota bar turns orange above 80 % and red at 100 %; the 11th recipient is refused", async () => {
    const band = () => page.locator(".quota").getAttribute("data-band");
    await page.goto(`${stack.base}/`);
    await expect(band()).resolves.toBe("blue");
    await expect(page.getByRole("progressbar").getAttribute("aria-valuenow")).resolves.toBe("7");

    expect((await send([`u7@${RCPT}`, `u8@${RCPT}`], "Two more")).accepted).toHaveLength(2);
    await page.reload();
    await expect(band()).resolves.toBe("orange");
    await expect(page.locator(".quota-text").textContent()).resolves.toMatch(
      /9 of 10 .*close to your monthly quota/,
    );
    await screenshot(page, "quota-orange");

    expect((await send([`u9@${RCPT}`], "The tenth")).accepted).toHaveLength(1);
    await page.reload();
    await expect(band()).resolves.toBe("red");
    await expect(page.locator(".quota").getByRole("alert").textContent()).resolves.toMatch(/sending blocked/);
    await screenshot(page, "quota-red");

    const refused = await send([`u10@${RCPT}`], "The eleventh").then(
      () => null,
      (e: Error & { responseCode?: number; response?: string }) => e,
    );
    expect(refused).not.toBeNull();
    expect(refused!.responseCode).toBeGreaterThanOrEqual(400);
    expect(`${refused!.response} ${refused!.message}`).toMatch(/quota/i);
    await page.reload();
    await expect(page.getByRole("progressbar").getAttribute("aria-valuenow")).resolves.toBe("10");
    await expect(band()).resolves.toBe("red");

    // Activity shows the refused recipient as Rejected, its reason on hover: the quota.
    const rejected = page.locator(`tr[data-recipient="u10@${RCPT}"][data-status=Rejected]`);
    await expect
      .poll(async () => {
        await page.goto(`${stack.base}/activity?status=Rejected`);
        return rejected.count();
      }, POLL)
      .toBe(1);
    await rejected.locator(".status").hover();
    await expect(rejected.locator("[role=tooltip]").textContent()).resolves.toMatch(/quota reached/i);
    await screenshot(page, "activity-rejected-quota");
  });

  it("a custom member without “Access SMTP activities” is kept out of Activity", async () => {
    // Created by the administrator, in the browser with the session cookie (POST /v1/members).
    const created = await page.evaluate(
      async (body) => {
        const res = await fetch("/v1/members", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        return res.status;
      },
      { ...CUSTOM, role: "custom", permissions: ["smtp.domains"] },
    );
    expect(created).toBe(201);

    const context = await browser.newContext();
    const other = await context.newPage();
    await signIn(other, stack.base, CUSTOM, "/domains");
    const menu = other.getByRole("navigation", { name: "SMTP" });
    await expect(menu.getByRole("link", { name: "Domains" }).count()).resolves.toBe(1);
    await expect(menu.getByRole("link", { name: "Activity" }).count()).resolves.toBe(0);
    await expect(menu.getByRole("link", { name: "Dashboard" }).count()).resolves.toBe(0);

    const res = await other.goto(`${stack.base}/activity`);
    expect(res?.status()).toBe(403);
    const refusal = other.locator(".refusal");
    await expect(refusal.getAttribute("data-status")).resolves.toBe("403");
    await expect(refusal.textContent()).resolves.toContain("You don't have access to this page.");
    await expect(other.locator("table.activity").count()).resolves.toBe(0);
    await screenshot(other, "activity-refused-custom-member");
    const csv = await other.request.get(`${stack.base}/v1/activity/export`);
    expect(csv.status()).toBe(403);
    await context.close();
  });
});
