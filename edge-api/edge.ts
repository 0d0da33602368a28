/**
 * The read routes at the edge (X3, issue 6): Activity, Statistics and the quota gauge served by a
 * Web-standard fetch handler (Deno, Workers, any runtime with `fetch`), reading ClickHouse over HTTP
 * through `@clickhouse/client-web`. No Node-only import on this path (tests/analytics/edge.test.ts
 * walks the import graph with `deno info` and serves requests under Deno).
 *
 * Routes (the same answers as the relay's /v1 routes, edge-api/v1/ops/analytics.ts):
 *   GET /v1/activity, GET /v1/activity/export, GET /v1/activity/:recipientId, GET /v1/stats, GET /v1/stats/domains/:domain,
 *   GET /v1/quota (A7: limit and period from `edge_accounts`, used counted from `events`).
 *
 * Who the caller is: `authenticate` is injected (tests). The default entry (`export default { fetch }`)
 * uses `directoryKeys`: the API key's row in `edge_api_keys`, which the relay keeps current from the
 * directory topic (shared/analytics/edge-directory.ts), checked against the key's HMAC-SHA256 under
 * the relay's HMAC key. The edge therefore holds that key as a secret, PETREL_EDGE_HMAC_KEY (the
 * `hmacKey` of `<dataDir>/secrets.json`, base64url): the stored hash is keyed, so no secret-free
 * lookup id exists without changing how the account service hashes keys. A revoked key is refused
 * once its row is written and the edge's lookup cache (PETREL_EDGE_CACHE_MS, default 5 s, at most
 * 30 s) has expired: no redeploy. Activity and Statistics also need an account allowed to send (C2,
 * 403 plan_inactive), like the relay; the quota gauge does not.
 */
import { createClient } from "@clickhouse/client-web";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { QueryClient } from "../shared/analytics/client.ts";
import {
  type EdgeAccount,
  edgeAccount,
  edgeApiKeyId,
  edgeKey,
  edgeQuota,
  edgeSendingAllowed,
  hexEqual,
  hmacHex,
  ttlCache,
} from "../shared/analytics/edge-reads.ts";
import { type Analytics, createAnalytics } from "../shared/analytics/service.ts";
import { fromBase64Url } from "../shared/base64url.ts";
import { loadEdgeConfig } from "../shared/config/edge.ts";
import type { Scope } from "../shared/model/account/protocol.ts";
import { ApiError, errorResponse } from "./errors.ts";
import { activityFilter, statsPeriod } from "./v1/analytics-input.ts";

export interface EdgePrincipal {
  accountId: string;
  /** The account's time zone (A1): times and days of the answers. */
  timezone: string;
  scopes: Scope[];
  /** C2: false = the account has no active plan (403 plan_inactive on Activity/Statistics). */
  sendingAllowed?: boolean;
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
  /** `scope` undefined = any API key of the account, no plan needed (the quota gauge). */
  const need = (scope?: Scope) =>
    createMiddleware<EdgeEnv>(async (c, next) => {
      const p = await o.authenticate(c.req.raw);
      if (!p) throw new ApiError(401, "unauthenticated", "send an API key (Authorization: Bearer)");
      if (scope && !p.scopes.includes(scope)) throw new ApiError(403, "forbidden", `missing scope ${scope}`);
      if (scope && p.sendingAllowed === false)
        throw new ApiError(
          403,
          "plan_inactive",
          "the account has no active plan: SMTP features are unavailable",
        );
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
  app.get("/v1/activity/:recipientId", need("activity:read"), async (c) => {
    const p = c.var.principal;
    const recipientId = c.req.param("recipientId");
    const rows = await analytics.timeline(p.accountId, recipientId, p.timezone);
    if (rows.length === 0)
      throw new ApiError(404, "not_found", "no such recipient in this account's activity");
    return c.json({ recipientId, rows });
  });
  app.get("/v1/stats", need("stats:read"), async (c) => {
    const p = c.var.principal;
    const t = now();
    const { period, view, includeTests } = statsPeriod(new URL(c.req.url), t, p.timezone);
    return c.json(await analytics.stats(p.accountId, period, view, t, { includeTests }));
  });
  app.get("/v1/stats/domains/:domain", need("stats:read"), async (c) => {
    const p = c.var.principal;
    const t = now();
    const { period } = statsPeriod(new URL(c.req.url), t, p.timezone);
    return c.json(await analytics.domain(p.accountId, c.req.param("domain").toLowerCase(), period, t));
  });
  app.get("/v1/quota", need(), async (c) => {
    const p = c.var.principal;
    const a = await edgeAccount(o.client, p.accountId);
    if (!a) throw new ApiError(404, "not_found", "the account is not in the edge directory yet");
    return c.json(await edgeQuota(o.client, a, now()));
  });
  app.notFound((c) => c.json({ code: "not_found", message: "no such route at the edge" }, 404));
  return app;
}

export interface DirectoryKeysOptions {
  client: QueryClient;
  /** The relay's HMAC key (secrets.json `hmacKey`): API keys are stored as HMAC-SHA256 under it. */
  hmacKey: Uint8Array;
  /** How long a key's or an account's row is reused (0–30 000 ms; default 5 000). */
  cacheMs?: number;
  now?: () => number;
}

/** `Authorization: Bearer pk_…` checked against `edge_api_keys` / `edge_accounts` (0004_edge_directory). */
export function directoryKeys(o: DirectoryKeysOptions): EdgeOptions["authenticate"] {
  const now = o.now ?? (() => Date.now());
  const keys = ttlCache<Awaited<ReturnType<typeof edgeKey>>>(o.cacheMs ?? 5_000, now);
  const accounts = ttlCache<EdgeAccount | undefined>(o.cacheMs ?? 5_000, now);
  return async (req) => {
    const m = /^Bearer (\S+)$/.exec(req.headers.get("authorization") ?? "");
    const id = m ? edgeApiKeyId(m[1]!) : undefined;
    if (!m || !id) return null;
    const k = await keys(id, () => edgeKey(o.client, id));
    if (!k || k.revoked || !hexEqual(await hmacHex(o.hmacKey, m[1]!), k.hash)) return null;
    const a = await accounts(k.accountId, () => edgeAccount(o.client, k.accountId));
    if (!a) return null;
    return {
      accountId: k.accountId,
      timezone: a.timezone,
      scopes: k.scopes,
      sendingAllowed: edgeSendingAllowed(a, now()),
    };
  };
}

/** Workers' `env` or Deno.env.toObject(): the edge's keys of the one config schema (shared/config/edge.ts). */
export type EdgeBindings = Record<string, string | undefined>;

/** Builds the handler from bindings (Workers' `env`, or Deno.env.toObject()); `now` is the clock (tests). */
export function edgeFromEnv(env: EdgeBindings, o: { now?: () => number } = {}): Hono<EdgeEnv> {
  const c = loadEdgeConfig(env);
  const client = createClient({
    url: c.clickhouseUrl,
    database: c.clickhouseDatabase,
    ...(c.clickhouseUser ? { username: c.clickhouseUser } : {}),
    ...(c.clickhousePassword ? { password: c.clickhousePassword } : {}),
    // The same result shapes as the relay (shared/clickhouse/client.ts PARITY_SETTINGS).
    clickhouse_settings: {
      output_format_json_quote_64bit_integers: 1,
      date_time_input_format: "best_effort",
    },
  });
  const query = client as unknown as QueryClient;
  const clock = o.now ? { now: o.now } : {};
  return createEdgeApp({
    client: query,
    ...clock,
    authenticate: directoryKeys({
      client: query,
      hmacKey: fromBase64Url(c.edgeHmacKey),
      cacheMs: c.edgeCacheMs,
      ...clock,
    }),
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
