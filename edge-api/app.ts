/**
 * The HTTP surface (O3) as a runtime-neutral Hono app: it knows only Request and Response.
 * Node, Deno and edge entries serve `createApp(deps).fetch`. Every error leaves through the one
 * `onError` below (errors.ts), as JSON `{ code, message }`.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ControlDeps } from "./deps.ts";
import { errorResponse, validationError } from "./errors.ts";
import { openApiDocument, registerSecuritySchemes } from "./openapi.ts";
import { createV1 } from "./v1/index.ts";
import type { V1Fetch } from "./web/api.ts";
import { type AssetLoader, createWeb, notFoundPage, wantsHtml } from "./web/index.tsx";

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
  /** Why a node that is up is not ready (e.g. `insufficient_storage`); default `starting`. */
  status?: string;
  /** Issue 17: each guarded volume's free bytes against its floor. */
  disk?: { volume: string; path: string; freeBytes: number; floorBytes: number; ok: boolean }[];
}

export interface AppDeps {
  /** Liveness: the process is up and its event loop turns. */
  version: string;
  readiness(): Readiness;
  /** Prometheus exposition; absent on runtimes without a metrics registry (edge). */
  metrics?(): Promise<{ contentType: string; body: string }>;
  /** The management API's dependencies; absent = /v1 answers 503 `unavailable`. */
  control?: ControlDeps;
  /** The dashboard's static files; absent = no web pages (e.g. the edge entry). */
  assets?: AssetLoader;
}

const text = (description: string) => ({ description, content: { "text/plain": { schema: z.string() } } });
const json = (description: string) => ({
  description,
  content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
});

const health = {
  healthz: createRoute({
    method: "get",
    path: "/healthz",
    summary: "Liveness",
    tags: ["health"],
    responses: { 200: json("The process is alive.") },
  }),
  readyz: createRoute({
    method: "get",
    path: "/readyz",
    summary: "Readiness to accept mail",
    tags: ["health"],
    responses: {
      200: json("Ready: bus, actors and analytics store are up."),
      503: json(
        "Still starting or shutting down (`starting`), or below the free-space floor and refusing new mail (`insufficient_storage`, `disk` gives each volume's free bytes and floor); `checks` says which part is not ready.",
      ),
    },
  }),
  metrics: createRoute({
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    tags: ["health"],
    responses: { 200: text("Text exposition format.") },
  }),
  openapi: createRoute({
    method: "get",
    path: "/openapi.json",
    summary: "This document",
    tags: ["health"],
    responses: { 200: json("OpenAPI 3.1 document.") },
  }),
};

export function createApp(deps: AppDeps): OpenAPIHono {
  const app = new OpenAPIHono({
    // Input validation failures become `invalid_request` naming the field, through onError.
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });
  registerSecuritySchemes(app);
  app.openapi(health.healthz, (c) => c.json({ status: "ok", version: deps.version }, 200));
  app.openapi(health.readyz, (c) => {
    const r = deps.readiness();
    const disk = r.disk ? { disk: r.disk } : {};
    return r.ready
      ? c.json({ status: "ready", checks: r.checks, ...disk }, 200)
      : c.json({ status: r.status ?? "starting", checks: r.checks, ...disk }, 503);
  });
  app.openapi(health.metrics, (async (c: Context) => {
    if (!deps.metrics)
      return c.json({ code: "not_available", message: "metrics are not served by this runtime" }, 404);
    const m = await deps.metrics();
    return c.body(m.body, 200, { "content-type": m.contentType });
  }) as never);
  app.route("/v1", createV1(deps.control));
  const v1: V1Fetch = async (url, init) => app.request(url, init);
  const web = deps.assets && deps.control;
  if (deps.assets && deps.control) app.route("/", createWeb({ v1, assets: deps.assets }));
  let doc: unknown;
  app.openapi(health.openapi, (c) => {
    doc ??= openApiDocument(app, deps.version);
    return c.json(doc as Record<string, unknown>, 200);
  });
  // A browser asking for an unknown page gets the dashboard's HTML 404; /v1 and API clients, JSON.
  app.notFound((c) =>
    web && c.req.method === "GET" && wantsHtml(c)
      ? notFoundPage(c, v1)
      : c.json({ code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((err, c) => {
    const { status, body } = errorResponse(err);
    return c.json(body, status);
  });
  return app;
}
