/**
 * One definition per operation of /v1, mounted as OpenAPI routes with its `authorize()` middleware
 * and listed in the route table that the permission-matrix and OpenAPI tests iterate.
 *
 * An account operation is served twice: at `/v1<path>` for the caller's own account (the account
 * comes from the credential, never from the request), and — when `admin` — at
 * `/v1/admin/accounts/{accountId}<path>` for the operator, who is no account and names it.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { authorize } from "../auth/authorize.ts";
import type { AccountPrincipal, Principal, Requirement } from "../auth/policy.ts";
import type { ControlDeps } from "../deps.ts";
import type { QueryParameter } from "./analytics-input.ts";
import type { V1Env } from "./env.ts";
import { AccountParam, ErrorSchema } from "./schemas.ts";

export type Method = "get" | "post" | "patch" | "delete";
type AnyObject = z.ZodObject<z.ZodRawShape>;
type Empty = z.ZodObject<Record<never, never>>;

interface OpBase<PS extends AnyObject, BS extends z.ZodType> {
  id: string;
  tag: string;
  summary: string;
  method: Method;
  /** Relative to the mount point, OpenAPI style (`/members/{email}`). */
  path: string;
  params?: PS;
  body?: BS;
  /** Success status; 204 answers no body. */
  status: 200 | 201 | 204;
  /** Success body, for the document; `text` for text/plain. */
  response?: z.ZodType | "text";
  /** Query parameters, for the document only (the operation parses its own query string). */
  query?: readonly QueryParameter[];
}

export interface RunInput<PS extends AnyObject, BS extends z.ZodType> {
  c: Context<V1Env>;
  control: ControlDeps;
  params: z.output<PS>;
  body: z.output<BS>;
}

export interface AccountOp<PS extends AnyObject = Empty, BS extends z.ZodType = Empty>
  extends OpBase<PS, BS> {
  kind: "account";
  requirement: Extract<Requirement, { who: "account" }>;
  /** Also served to the operator under /v1/admin/accounts/{accountId}. */
  admin: boolean;
  run(
    x: RunInput<PS, BS> & { accountId: string; principal: AccountPrincipal | { kind: "operator" } },
  ): Promise<unknown>;
}

export interface PlainOp<PS extends AnyObject = Empty, BS extends z.ZodType = Empty> extends OpBase<PS, BS> {
  /** `operator`: served at /v1/admin<path>; `public`: at /v1<path>, any caller. */
  kind: "operator" | "public";
  run(x: RunInput<PS, BS> & { principal: Principal | null }): Promise<unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: a list holds operations of many schema types
export type AnyOp = AccountOp<any, any> | PlainOp<any, any>;

export function accountOp<PS extends AnyObject = Empty, BS extends z.ZodType = Empty>(
  op: Omit<AccountOp<PS, BS>, "kind">,
): AccountOp<PS, BS> {
  return { kind: "account", ...op };
}

export function plainOp<PS extends AnyObject = Empty, BS extends z.ZodType = Empty>(
  op: PlainOp<PS, BS>,
): PlainOp<PS, BS> {
  return op;
}

/** A row of the route table: one served route. */
export interface RouteEntry {
  id: string;
  method: Method;
  /** Full path, OpenAPI style: `/v1/members/{email}`. */
  path: string;
  requirement: Requirement;
  op: AnyOp;
  /** True for the operator's mirror of an account operation. */
  admin: boolean;
}

const OPERATOR: Requirement = { who: "operator" };
const PUBLIC: Requirement = { who: "public" };
export const ADMIN_ACCOUNT_PREFIX = "/admin/accounts/{accountId}";

/** Every route the operations are served at. */
export function routeTable(ops: readonly AnyOp[], base = "/v1"): RouteEntry[] {
  const rows: RouteEntry[] = [];
  for (const op of ops) {
    if (op.kind === "account") {
      rows.push({
        id: op.id,
        method: op.method,
        path: base + op.path,
        requirement: op.requirement,
        op,
        admin: false,
      });
      if (op.admin)
        rows.push({
          id: `admin.${op.id}`,
          method: op.method,
          // `/account/plan` → `/admin/accounts/{accountId}/plan`: the named account is the subject.
          path: base + ADMIN_ACCOUNT_PREFIX + op.path.replace(/^\/account(?=\/|$)/, ""),
          requirement: OPERATOR,
          op,
          admin: true,
        });
    } else if (op.kind === "operator") {
      rows.push({
        id: op.id,
        method: op.method,
        path: `${base}/admin${op.path}`,
        requirement: OPERATOR,
        op,
        admin: false,
      });
    } else {
      rows.push({
        id: op.id,
        method: op.method,
        path: base + op.path,
        requirement: PUBLIC,
        op,
        admin: false,
      });
    }
  }
  return rows;
}

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});

/** Serves one row of the table on `app` (mounted at `base`). */
export function mount(app: OpenAPIHono<V1Env>, row: RouteEntry, base = "/v1"): void {
  const { op } = row;
  let params: AnyObject | undefined = op.params;
  if (row.admin) params = op.params ? AccountParam.extend(op.params.shape) : AccountParam;
  const success =
    op.status === 204
      ? { description: "Done." }
      : op.response === "text"
        ? { description: "OK", content: { "text/plain": { schema: z.string() } } }
        : {
            description: "OK",
            ...(op.response ? { content: { "application/json": { schema: op.response } } } : {}),
          };
  const route = createRoute({
    method: op.method,
    path: row.path.slice(base.length),
    operationId: row.id,
    tags: [row.admin || op.kind === "operator" ? "operator" : op.tag],
    summary: row.admin ? `${op.summary} (operator, named account)` : op.summary,
    middleware: [authorize(row.requirement)] as const,
    request: {
      ...(params ? { params } : {}),
      ...(op.body ? { body: { content: { "application/json": { schema: op.body } }, required: true } } : {}),
    },
    responses: {
      [op.status]: success,
      400: errorResponse("Invalid input: `code` invalid_request, `field` names the field."),
      401: errorResponse("No or invalid credential: `code` unauthenticated."),
      403: errorResponse("Not allowed: `code` forbidden or plan_inactive."),
      404: errorResponse("Not found."),
    },
    ...(row.requirement.who === "public"
      ? {}
      : {
          security: row.requirement.who === "operator" ? [{ bearer: [] }] : [{ bearer: [] }, { session: [] }],
        }),
    "x-petrel-auth": row.requirement,
    // biome-ignore lint/suspicious/noExplicitAny: plain OpenAPI parameter objects, passed through
    ...(op.query ? { parameters: [...op.query] as any[] } : {}),
  });
  app.openapi(route, (async (c: Context<V1Env>) => {
    // biome-ignore lint/suspicious/noExplicitAny: validated data is typed by each operation's schemas
    const req = c.req as any;
    const p = (req.valid("param") ?? {}) as Record<string, unknown>;
    const body = op.body ? req.valid("json") : {};
    const principal = c.var.principal;
    const control = c.var.control;
    let out: unknown;
    if (op.kind === "account") {
      const accountId = row.admin ? String(p.accountId) : (principal as AccountPrincipal).accountId;
      out = await op.run({
        c,
        control,
        params: p,
        body,
        accountId,
        principal: principal as AccountPrincipal,
      });
    } else {
      out = await op.run({ c, control, params: p, body, principal });
    }
    if (out instanceof Response) return out;
    if (op.status === 204) return c.body(null, 204);
    if (op.response === "text") return c.text(String(out), op.status);
    return c.json(out as object, op.status);
  }) as never);
}
