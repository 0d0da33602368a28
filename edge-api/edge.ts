/**
 * The read routes at the edge (X3, issue 6): Activity and Statistics served by a Web-standard fetch
 * handler (Deno, Workers, any runtime with `fetch`), reading ClickHouse over HTTP through
 * `@clickhouse/client-web`. No Node-only import on this path (tests/analytics/edge.test.ts walks the
 * import graph with `deno info` and serves requests under Deno).
 *
 * Routes (the same answers as the relay's /v1 routes, edge-api/v1/ops/analytics.ts):
 *   GET /v1/activity, GET /v1/activity/export, GET /v1/stats, GET /v1/stats/domains/:domain
 *
 * Who the caller is: the edge has no account actors, so `authenticate` is injected. The default
 * entry (`export default { fetch }`) uses a static key table from the environment,
 * PETREL_EDGE_KEYS = JSON `{ "<sha256 hex of the API key>": { accountId, timezone, scopes } }`, which
 * the operator publishes with the edge deployment. Revocation at the edge takes a redeploy: a stopgap
 * until keys are replicated to the edge (see the report of issue 6).
 */
import { createClient } from "@clickhouse/client-web";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { Scope } from "../actors/account/protocol.ts";
import type { QueryClient } from "../shared/analytics/client.ts";
import { type Analytics, createAnalytics } from "../shared/analytics/service.ts";
import { ApiError, errorResponse } from "./errors.ts";
import { activityFilter, statsPeriod } from "./v1/analytics-input.ts";

export interface EdgePrincipal {
  accountId: string;
  /** The account's time zone (A1): times and days of the answers. */
  timezone: string;
  scopes: Scope[];
}

export interface EdgeOptions {
  client: QueryClient;
  authenticate(req: Request): Promise<EdgePrincipal | null>;
  now?: () => number;
}

type EdgeEnv = { Variables: { principal: EdgePrincipal } };

export function createEdgeApp(o: EdgeOptions): Hono<EdgeEnv> {
  const analytics: Analytics = createAnalytics(o.client);
  const now = o.now ?? (() => Date.now());
  const app = new Hono<EdgeEnv>();
  app.onError((err, c) => {
    // A ClickHouse that cannot be reached is the edge's 503, not a 500.
    const unreachable = err instanceof TypeError || /fetch failed|ECONNREFUSED|connect/i.test(String(err));
    const { status, body } = unreachable
      ? {
          status: 503 as const,
          body: { code: "unavailable", message: "the analytics store is not reachable" },
        }
      : errorResponse(err);
    return c.json(body, status);
  });
  const need = (scope: Scope) =>
    createMiddleware<EdgeEnv>(async (c, next) => {
      const p = await o.authenticate(c.req.raw);
      if (!p) throw new ApiError(401, "unauthenticated", "send an API key (Authorization: Bearer)");
      if (!p.scopes.includes(scope)) throw new ApiError(403, "forbidden", `missing scope ${scope}`);
      c.set("principal", p);
      await next();
    });
  app.get("/v1/activity", need("activity:read"), async (c) => {
    const p = c.var.principal;
    return c.json(
      await analytics.activity(p.accountId, activityFilter(new URL(c.req.url), now()), p.timezone),
    );
  });
  app.get("/v1/activity/export", need("activity:read"), (c) => {
    const p = c.var.principal;
    const { cursor: _c, limit: _l, ...filter } = activityFilter(new URL(c.req.url), now());
    return new Response(analytics.activityCsv(p.accountId, filter, p.timezone), {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": 'attachment; filename="activity.csv"',
      },
    });
  });
  app.get("/v1/stats", need("stats:read"), async (c) => {
    const p = c.var.principal;
    const t = now();
    const { period, view } = statsPeriod(new URL(c.req.url), t, p.timezone);
    return c.json(await analytics.stats(p.accountId, period, view, t));
  });
  app.get("/v1/stats/domains/:domain", need("stats:read"), async (c) => {
    const p = c.var.principal;
    const t = now();
    const { period } = statsPeriod(new URL(c.req.url), t, p.timezone);
    return c.json(await analytics.domain(p.accountId, c.req.param("domain").toLowerCase(), period, t));
  });
  app.notFound((c) => c.json({ code: "not_found", message: "no such route at the edge" }, 404));
  return app;
}

async function sha256Hex(s: string): Promise<string> {
  const h = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** PETREL_EDGE_KEYS as an authenticator: `Authorization: Bearer <key>`, looked up by its SHA-256. */
export function staticKeys(table: Record<string, EdgePrincipal>): EdgeOptions["authenticate"] {
  return async (req) => {
    const m = /^Bearer (\S+)$/.exec(req.headers.get("authorization") ?? "");
    if (!m) return null;
    return table[await sha256Hex(m[1]!)] ?? null;
  };
}

export interface EdgeBindings {
  PETREL_CLICKHOUSE_URL?: string;
  PETREL_CLICKHOUSE_USER?: string;
  PETREL_CLICKHOUSE_PASSWORD?: string;
  PETREL_CLICKHOUSE_DATABASE?: string;
  PETREL_EDGE_KEYS?: string;
}

/** Builds the handler from bindings (Workers' `env`, or Deno.env.toObject()). */
export function edgeFromEnv(env: EdgeBindings): Hono<EdgeEnv> {
  if (!env.PETREL_CLICKHOUSE_URL) throw new Error("PETREL_CLICKHOUSE_URL is required at the edge");
  const client = createClient({
    url: env.PETREL_CLICKHOUSE_URL,
    database: env.PETREL_CLICKHOUSE_DATABASE ?? "petrel",
    ...(env.PETREL_CLICKHOUSE_USER ? { username: env.PETREL_CLICKHOUSE_USER } : {}),
    ...(env.PETREL_CLICKHOUSE_PASSWORD ? { password: env.PETREL_CLICKHOUSE_PASSWORD } : {}),
    // The same result shapes as the relay (shared/clickhouse/client.ts PARITY_SETTINGS).
    clickhouse_settings: {
      output_format_json_quote_64bit_integers: 1,
      date_time_input_format: "best_effort",
    },
  });
  return createEdgeApp({
    client: client as unknown as QueryClient,
    authenticate: staticKeys(JSON.parse(env.PETREL_EDGE_KEYS ?? "{}") as Record<string, EdgePrincipal>),
  });
}

let cached: { key: string; app: Hono<EdgeEnv> } | undefined;

/** The Workers module shape (`export default { fetch }`); Deno: `Deno.serve((r) => edge.fetch(r, Deno.env.toObject()))`. */
export default {
  fetch(req: Request, env: EdgeBindings = {}): Response | Promise<Response> {
    const key = JSON.stringify(env);
    if (cached?.key !== key) cached = { key, app: edgeFromEnv(env) };
    return cached.app.fetch(req);
  },
};
