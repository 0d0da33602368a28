/**
 * The dashboard's HTTP behaviour (U1), in process over the real stack (harness.ts):
 *  - an address no route knows: a browser (Accept: text/html) gets an HTML 404 — inside the frame
 *    with the menu when signed in, a bare page with the way to sign in otherwise; API clients and
 *    anything under /v1 keep the JSON `{ code: "not_found" }`;
 *  - a refusal names the permission in words (“Plans and billing”), in the API and in the page;
 *  - "Verify now" is a plain form post answered by the domain page with each record as DNS
 *    answered just now — here the resolvers refuse (a closed port), so nothing is recorded and the
 *    page still shows the DNS error and when it was checked; a form post from another site is
 *    refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../edge-api/app.ts";
import { buildSendingDomain } from "../../shared/domains/build.ts";
import { type ApiStack, BASE, call, signIn, startApiStack } from "./harness.ts";

const A = "acct-pages";
const DOMAIN = "pages-shop.test";
let stack: ApiStack;
let app: ApiStack["app"];
let admin: Record<string, string>;
let dev: Record<string, string>;

beforeAll(async () => {
  stack = await startApiStack();
  // The node's app with the dashboard mounted (assets are not read by these checks).
  app = createApp({
    version: "test",
    readiness: () => ({ ready: true, checks: {} }),
    control: stack.control,
    assets: async () => undefined,
  });
  await stack.service.createAccount({ accountId: A, name: "Pages", plan: "starter" });
  await stack.service.addMember(A, { email: "boss@pages.test", role: "admin", password: "boss-password-1" });
  await stack.service.addMember(A, {
    email: "dev@pages.test",
    role: "custom",
    permissions: ["smtp.users"],
    password: "dev-password-1",
  });
  await stack.service.addDomain(
    A,
    await buildSendingDomain({ domain: DOMAIN, provider: "petrel.test", now: stack.clock.now() }),
  );
  admin = await signIn(app, "boss@pages.test", "boss-password-1");
  dev = await signIn(app, "dev@pages.test", "dev-password-1");
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const HTML = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

describe("unknown addresses", () => {
  it("a signed-in browser gets an HTML 404 inside the frame, with the menu", async () => {
    const r = await call(app, "get", "/no-such-page", { headers: { ...HTML, ...admin } });
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.text).toContain("<title>Page not found · Petrel</title>");
    expect(r.text).toContain("There is no page at");
    expect(r.text).toMatch(/<nav aria-label="SMTP">.*href="\/domains".*<\/nav>/s);
  });

  it("a browser without a session gets a bare HTML 404 with the way to sign in", async () => {
    const r = await call(app, "get", "/domains-typo", { headers: HTML });
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    expect(r.text).toContain('href="/sign-in"');
    expect(r.text).not.toContain('aria-label="SMTP"');
  });

  it("API clients, and every /v1 address, keep the JSON answer", async () => {
    const curl = await call(app, "get", "/no-such-page", { headers: { accept: "*/*" } });
    expect(curl.status).toBe(404);
    expect(curl.body).toEqual({ code: "not_found", message: "no route for GET /no-such-page" });
    const v1 = await call(app, "get", "/v1/no-such-route", { headers: { ...HTML, ...admin } });
    expect(v1.status).toBe(404);
    expect(v1.body.code).toBe("not_found");
    const post = await call(app, "post", "/no-such-page", { headers: HTML, body: {} });
    expect(post.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

describe("a page that fails", () => {
  it("is an HTML error page for a browser, the API's JSON for other clients", async () => {
    // A session store that fails: /v1/session answers 500, so every page fails before it renders.
    const failing = createApp({
      version: "test",
      readiness: () => ({ ready: true, checks: {} }),
      control: {
        ...stack.control,
        sessions: new Proxy({}, { get: () => () => Promise.reject(new Error("store down")) }) as never,
      },
      assets: async () => undefined,
    });
    const page = await call(failing, "get", "/domains", { headers: { ...HTML, ...admin } });
    expect(page.status).toBe(500);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.text).toContain("Something went wrong");
    expect(page.text).not.toContain("store down");
    const api = await call(failing, "get", "/domains", { headers: { accept: "*/*", ...admin } });
    expect(api.status).toBe(500);
    expect(api.body.code).toBe("internal");
  });
});

describe("permissions in words", () => {
  it("the API's refusal and the page name the permission as members read it", async () => {
    const api = await call(app, "get", "/v1/account/billing", { headers: dev });
    expect(api.status).toBe(403);
    expect(api.body.code).toBe("forbidden");
    expect(api.body.message).toContain("“Plans and billing”");
    expect(api.body.message).not.toMatch(/missing permission/);
    const page = await call(app, "get", "/pricing", { headers: { ...HTML, ...dev } });
    expect(page.status).toBe(403);
    expect(page.text).toContain("“Plans and billing”");
    expect(page.text).not.toMatch(/missing permission/);
  });
});

describe("Verify now", () => {
  const verify = (headers: Record<string, string>) =>
    app.request(`${BASE}/domains/${DOMAIN}/verify`, {
      method: "POST",
      headers: { ...HTML, ...admin, ...headers },
    });

  it("answers the domain page with what DNS said just now, even when nothing could be recorded", async () => {
    const res = await verify({ "sec-fetch-site": "same-origin", origin: BASE });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain("the DNS servers did not answer, so nothing changed");
    // The resolver's port is closed: no verdict, the error is shown for every record, with its time.
    expect(html.match(/data-word="No answer"/g)).toHaveLength(3);
    expect(html).toMatch(/<dd data-error="true">DNS error ECONNREFUSED[^<]*Nothing was recorded/);
    expect(html).toMatch(/data-checked-at="\d+">\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}</);
    // Nothing recorded: the stored domain has no check (an inconclusive check changes nothing).
    const stored = await call(app, "get", `/v1/domains/${DOMAIN}`, { headers: admin });
    expect(stored.body.lastCheckAt).toBeUndefined();
  });

  it("without a session, sends the browser to sign in and back to the domain's page", async () => {
    const res = await app.request(`${BASE}/domains/${DOMAIN}/verify`, {
      method: "POST",
      headers: { ...HTML, "sec-fetch-site": "same-origin" },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/sign-in?next=${encodeURIComponent(`/domains/${DOMAIN}`)}`);
  });

  it("refuses a form post from another site", async () => {
    const cross = await verify({ "sec-fetch-site": "cross-site", origin: "https://evil.example" });
    expect(cross.status).toBe(403);
    expect(await cross.text()).toContain("sent from another site");
    const noHints = await verify({});
    expect(noHints.status).toBe(403);
  });
});
