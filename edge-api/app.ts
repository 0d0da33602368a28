/**
 * The HTTP surface (O3) as a runtime-neutral Hono app: it knows only Request and Response.
 * Node, Deno and edge entries serve `createApp(deps).fetch`.
 */
import { Hono } from "hono";
import { openApiDocument } from "./openapi.ts";

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface AppDeps {
  /** Liveness: the process is up and its event loop turns. */
  version: string;
  readiness(): Readiness;
  /** Prometheus exposition; absent on runtimes without a metrics registry (edge). */
  metrics?(): Promise<{ contentType: string; body: string }>;
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok", version: deps.version }));
  app.get("/readyz", (c) => {
    const r = deps.readiness();
    return c.json({ status: r.ready ? "ready" : "starting", checks: r.checks }, r.ready ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    if (!deps.metrics)
      return c.json({ code: "not_available", message: "metrics are not served by this runtime" }, 404);
    const m = await deps.metrics();
    return c.body(m.body, 200, { "content-type": m.contentType });
  });
  app.get("/openapi.json", (c) => c.json(openApiDocument(deps.version)));
  app.notFound((c) =>
    c.json({ code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((err, c) => c.json({ code: "internal", message: `internal error: ${err.message}` }, 500));
  return app;
}
