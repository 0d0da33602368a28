/** @jsxImportSource hono/jsx */
/**
 * The dashboard (U1) as server-rendered pages under `/`: each page reads /v1 in process with the
 * visitor's session cookie (api.ts) and renders HTML; changes go from the browser to /v1 as JSON
 * through one small script (assets/app.js). A visitor without a session is sent to /sign-in.
 */
import { type Context, Hono } from "hono";
import { PageApiError, pageApi, type V1Fetch } from "./api.ts";
import { bareErrorPage, Layout, NotFound, Refusal } from "./layout.tsx";
import { PAGES, type PagePath, visiblePages } from "./nav.ts";
import { noticeOf } from "./notices.ts";
import type { PageHandler, PageResult } from "./page.ts";
import { activityPage } from "./pages/activity.tsx";
import { dashboardPage } from "./pages/dashboard.tsx";
import { domainPage, domainsPage, verifyDomainPage } from "./pages/domains.tsx";
import { pricingPage } from "./pages/pricing.tsx";
import { signInPage } from "./pages/sign-in.tsx";
import { teamPage } from "./pages/team.tsx";
import { userPage, usersPage } from "./pages/users.tsx";
import type { Me, Quota } from "./types.ts";

/** Static files of the pages: the app's own (edge-api/web/assets) and vendored libraries. */
export type AssetLoader = (name: string) => Promise<{ body: Uint8Array; type: string } | undefined>;

export interface WebDeps {
  v1: V1Fetch;
  assets: AssetLoader;
}

/** Route → menu entry it belongs to → page. */
const ROUTES: readonly [string, PagePath, PageHandler][] = [
  ["/", "/", dashboardPage],
  ["/activity", "/activity", activityPage],
  ["/domains", "/domains", domainsPage],
  ["/domains/:domain", "/domains", domainPage],
  ["/users", "/users", usersPage],
  ["/users/:username", "/users", userPage],
  ["/pricing", "/pricing", pricingPage],
  ["/team", "/team", teamPage],
];

/** Form posts of the pages: route → menu entry → page answering the change. */
const POST_ROUTES: readonly [string, PagePath, PageHandler][] = [
  ["/domains/:domain/verify", "/domains", verifyDomainPage],
];

/** The browser says the form came from this origin (Sec-Fetch-Site, else Origin). */
function sameOrigin(c: Context): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site) return site === "same-origin";
  return c.req.header("origin") === new URL(c.req.url).origin;
}

export function createWeb(deps: WebDeps): Hono {
  const web = new Hono();
  web.use("*", async (c, next) => {
    await next();
    securityHeaders(c);
  });

  web.get("/assets/:name{.+}", async (c) => {
    const a = await deps.assets(c.req.param("name"));
    if (!a) return c.json({ code: "not_found", message: `no asset ${c.req.param("name")}` }, 404);
    return c.body(a.body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": a.type,
      "cache-control": "public, max-age=300",
    });
  });

  web.get("/sign-in", async (c) => {
    const api = pageApi(c, deps.v1);
    const me = await api.get<Me>("/session").catch(() => null);
    if (me) return c.redirect(safeNext(c.req.query("next")), 303);
    return c.html(signInPage(safeNext(c.req.query("next"))));
  });

  const servePage = (current: PagePath, handler: PageHandler) => async (c: Context) => {
    const api = pageApi(c, deps.v1);
    const url = new URL(c.req.url);
    let me: Me;
    try {
      me = await api.get<Me>("/session");
    } catch (e) {
      if (e instanceof PageApiError && e.status === 401)
        // After sign-in, back to the page (a form post's address is no page: its page is its parent).
        return c.redirect(`/sign-in?next=${encodeURIComponent(backTo(c, url))}`, 303);
      throw e;
    }
    const quota = await api.get<Quota>("/quota").catch(() => null);
    let page: PageResult;
    try {
      page = await handler({ c, api, me, quota, url, params: c.req.param() as Record<string, string> });
    } catch (e) {
      if (!(e instanceof PageApiError) || e.status === 401 || e.status >= 500) throw e;
      const status = e.status === 403 || e.status === 404 ? e.status : 403;
      page = { title: titleOf(current), status, body: <Refusal status={status} message={e.message} /> };
    }
    const html = (
      <Layout
        title={page.title}
        me={me}
        quota={quota}
        current={current}
        scripts={page.scripts}
        notice={noticeOf(url)}
      >
        {page.body}
      </Layout>
    );
    return c.html(`<!doctype html>${html}`, page.status ?? 200);
  };
  for (const [route, current, handler] of ROUTES) web.get(route, servePage(current, handler));
  // Plain form posts (no script needed) come only from this site's own pages (CSRF).
  for (const [route, current, handler] of POST_ROUTES)
    web.post(route, async (c) => {
      if (!sameOrigin(c))
        return c.html(
          bareErrorPage({
            status: 403,
            title: "Request refused",
            message: "This form was sent from another site. Open the page in Petrel and send it again.",
          }),
          403,
        );
      return servePage(current, handler)(c);
    });

  // A page that failed (not a refusal: those are pages of their own) is an HTML page for a browser.
  web.onError((err, c) => {
    if (!wantsHtml(c)) throw err;
    const html = bareErrorPage({
      status: 500,
      title: "Something went wrong",
      message: "This page could not be shown. Try again in a moment; if it keeps failing, tell the operator.",
    });
    return c.html(html, 500, HTML_HEADERS);
  });
  return web;
}

/** A browser asking for a page (Accept: text/html), not an API client; never under /v1. */
export function wantsHtml(c: Context): boolean {
  const path = c.req.path;
  if (path === "/v1" || path.startsWith("/v1/")) return false;
  return (c.req.header("accept") ?? "").includes("text/html");
}

/**
 * The answer to an address no route knows, for a browser (`wantsHtml`): an HTML 404 inside the
 * frame when the visitor is signed in (menu and quota bar, so they can go on), else a bare page
 * with the way to sign in. Mounted by the app's `notFound` (edge-api/app.ts).
 */
export async function notFoundPage(c: Context, v1: V1Fetch): Promise<Response> {
  const api = pageApi(c, v1);
  const me = await api.get<Me>("/session").catch(() => null);
  let html: string;
  if (!me)
    html = bareErrorPage({
      status: 404,
      title: "Page not found",
      message: `There is no page at ${c.req.path}. Sign in to reach your dashboard.`,
    });
  else {
    const quota = await api.get<Quota>("/quota").catch(() => null);
    const first = visiblePages(me.permissions ?? [])[0]?.path;
    html = `<!doctype html>${(
      <Layout title="Page not found" me={me} quota={quota} current={null}>
        <NotFound path={c.req.path} first={first} />
      </Layout>
    )}`;
  }
  return c.html(html, 404, HTML_HEADERS);
}

/** The headers of every HTML page. */
const HTML_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  "cache-control": "no-store",
};

function securityHeaders(c: Context): void {
  c.header("x-content-type-options", "nosniff");
  if (c.res.headers.get("content-type")?.startsWith("text/html"))
    for (const [k, v] of Object.entries(HTML_HEADERS)) c.header(k, v);
}

function titleOf(path: PagePath): string {
  return PAGES.find((p) => p.path === path)?.label ?? "Petrel";
}

/** The page to come back to after sign-in. */
function backTo(c: Context, url: URL): string {
  if (c.req.method === "GET") return url.pathname + url.search;
  return url.pathname.replace(/\/[^/]+$/, "") || "/";
}

/** Only a local path may follow sign-in (no open redirect). */
function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[^\\]*$/.test(next) ? next : "/";
}
