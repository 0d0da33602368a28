/** @jsxImportSource hono/jsx */
/**
 * The dashboard (U1) as server-rendered pages under `/`: each page reads /v1 in process with the
 * visitor's session cookie (api.ts) and renders HTML; changes go from the browser to /v1 as JSON
 * through one small script (assets/app.js). A visitor without a session is sent to /sign-in.
 */
import { Hono } from "hono";
import { PageApiError, pageApi, type V1Fetch } from "./api.ts";
import { Layout, Refusal } from "./layout.tsx";
import { PAGES, type PagePath } from "./nav.ts";
import type { PageHandler, PageResult } from "./page.ts";
import { activityPage } from "./pages/activity.tsx";
import { dashboardPage } from "./pages/dashboard.tsx";
import { domainPage, domainsPage } from "./pages/domains.tsx";
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

export function createWeb(deps: WebDeps): Hono {
  const web = new Hono();
  web.use("*", async (c, next) => {
    await next();
    c.header("x-content-type-options", "nosniff");
    if (c.res.headers.get("content-type")?.startsWith("text/html")) {
      c.header("x-frame-options", "DENY");
      c.header("referrer-policy", "same-origin");
      c.header(
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
      );
      c.header("cache-control", "no-store");
    }
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

  for (const [route, current, handler] of ROUTES)
    web.get(route, async (c) => {
      const api = pageApi(c, deps.v1);
      const url = new URL(c.req.url);
      let me: Me;
      try {
        me = await api.get<Me>("/session");
      } catch (e) {
        if (e instanceof PageApiError && e.status === 401)
          return c.redirect(`/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
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
        <Layout title={page.title} me={me} quota={quota} current={current} scripts={page.scripts}>
          {page.body}
        </Layout>
      );
      return c.html(`<!doctype html>${html}`, page.status ?? 200);
    });
  return web;
}

function titleOf(path: PagePath): string {
  return PAGES.find((p) => p.path === path)?.label ?? "Petrel";
}

/** Only a local path may follow sign-in (no open redirect). */
function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[^\\]*$/.test(next) ? next : "/";
}
