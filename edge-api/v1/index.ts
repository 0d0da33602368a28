/**
 * The management API under /v1: every operation, its route table, and the app that serves it.
 * The account of a request comes from its credential (identify → authorize), never from the
 * request, except on the operator's /v1/admin routes, which name it.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { identify } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import type { V1Env } from "./env.ts";
import { type AnyOp, mount, type RouteEntry, routeTable } from "./op.ts";
import { accountOps } from "./ops/account.ts";
import { analyticsOps } from "./ops/analytics.ts";
import { apiKeyOps } from "./ops/api-keys.ts";
import { domainOps } from "./ops/domains.ts";
import { memberOps } from "./ops/members.ts";
import { operatorOps } from "./ops/operator.ts";
import { sessionOps } from "./ops/session.ts";
import { smtpUserOps } from "./ops/smtp-users.ts";
import { suppressionOps } from "./ops/suppressions.ts";

export const V1_OPS: readonly AnyOp[] = [
  ...sessionOps,
  ...accountOps,
  ...memberOps,
  ...smtpUserOps,
  ...domainOps,
  ...apiKeyOps,
  ...operatorOps,
  ...analyticsOps,
  ...suppressionOps,
];

/** Every route of /v1 with its requirement: what the permission matrix iterates. */
export const V1_ROUTES: readonly RouteEntry[] = routeTable(V1_OPS);

export function createV1(control: ControlDeps | undefined): OpenAPIHono<V1Env> {
  const v1 = new OpenAPIHono<V1Env>();
  v1.use("*", async (c, next) => {
    if (!control) throw new ApiError(503, "unavailable", "the management API is not served by this runtime");
    c.set("control", control);
    await next();
  });
  v1.use("*", identify());
  for (const row of V1_ROUTES) mount(v1, row);
  return v1;
}
