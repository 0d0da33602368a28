/**
 * The API's routes as the OpenAPI document lists them (so a new route is fuzzed without touching the
 * fuzzers), and a request generator for one route: path parameters from forged and real ids, query
 * parameters from its declared names (plus unknown ones), cursors from `cursorArb`.
 */
import fc from "fast-check";
import { call } from "../api/harness.ts";
import { cursorArb, idArb, queryValue } from "./arbitraries.ts";
import { NOW, type Tenant, type World } from "./world.ts";

export interface Route {
  method: string;
  /** OpenAPI template: `/v1/activity/{recipientId}`. */
  path: string;
  pathParams: string[];
  queryParams: string[];
  /** The values an enum parameter declares (`view`, `period`, `status`), by name. */
  enums: Record<string, string[]>;
  hasBody: boolean;
  /** Routes of the operator (`/v1/admin/...`): operator token, not a tenant's credential. */
  admin: boolean;
}

/** Routes that take a cursor weigh more: their decoding is where forged input reaches a query. */
export function routeArb(routes: readonly Route[]): fc.Arbitrary<Route> {
  return fc.oneof(
    ...routes.map((r) => ({ weight: r.queryParams.includes("cursor") ? 20 : 1, arbitrary: fc.constant(r) })),
  );
}

export async function listRoutes(world: World): Promise<Route[]> {
  const doc = await call(world.stack.app, "get", "/openapi.json");
  if (doc.status !== 200) throw new Error(`no OpenAPI document: ${doc.status}`);
  const out: Route[] = [];
  type Schema = { enum?: string[]; items?: { enum?: string[] } };
  type Op = { parameters?: { in: string; name: string; schema?: Schema }[]; requestBody?: unknown };
  for (const [path, ops] of Object.entries(doc.body.paths as Record<string, Record<string, Op>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = op.parameters ?? [];
      out.push({
        method,
        path,
        pathParams: params.filter((p) => p.in === "path").map((p) => p.name),
        queryParams: params.filter((p) => p.in === "query").map((p) => p.name),
        enums: Object.fromEntries(
          params.flatMap((p) => {
            const e = p.schema?.enum ?? p.schema?.items?.enum;
            return p.in === "query" && e ? [[p.name, e]] : [];
          }),
        ),
        hasBody: op.requestBody !== undefined,
        admin: path.startsWith("/v1/admin/"),
      });
    }
  }
  return out;
}

/** Real ids of both tenants, by the path parameter that takes them. */
export function knownIds(world: World, param: string): string[] {
  const both = (f: (t: Tenant) => string[]) => [...f(world.a), ...f(world.b)];
  switch (param) {
    case "recipientId":
      return both((t) => t.recipientIds);
    case "domain":
      return both((t) => t.domains);
    case "username":
      return both((t) => t.smtpUsers);
    case "email":
      return both((t) => t.members);
    case "id":
      return both((t) => t.apiKeyIds);
    case "address":
      return both((t) => t.suppressions);
    case "accountId":
      return [world.a.id, world.b.id];
    default:
      return ["x"];
  }
}

export interface Req {
  url: string;
  /** Decoded path and query values, to tell an echo of the input from a leak. */
  given: string[];
}

/** One of the values the document declares for an enum parameter (a comma list for an array). */
function declaredValue(route: Route, name: string): fc.Arbitrary<string> | undefined {
  const e = route.enums[name];
  if (!e || e.length === 0) return undefined;
  return name === "status" ? fc.subarray(e, { minLength: 1 }).map((l) => l.join(",")) : fc.constantFrom(...e);
}

/** Values a client would send, per query parameter name. */
function plausibleValues(world: World): Record<string, fc.Arbitrary<string>> {
  const ids = (f: (t: Tenant) => string[]) => fc.constantFrom(...f(world.a), ...f(world.b));
  const instant = fc.oneof(
    fc.integer({ min: NOW - 40 * 86_400_000, max: NOW + 86_400_000 }).map(String),
    fc.integer({ min: NOW - 40 * 86_400_000, max: NOW }).map((t) => new Date(t).toISOString()),
  );
  return {
    from: instant,
    to: instant,
    limit: fc.integer({ min: 1, max: 1000 }).map(String),
    recipient: fc.constantFrom("aaar1@aaa-rcpt.example", "bbbr1@bbb-rcpt.example", "BBBR2@BBB-RCPT.EXAMPLE"),
    sender: fc.constantFrom("app@aaa-send.example", "app@bbb-send.example"),
    subject: fc.constantFrom("subject", "aaa", "bbb", "1"),
    messageId: ids((t) => t.recipientIds.map((r) => `<${r.replace(/\.0$/, "")}@${t.prefix}-send.example>`)),
  };
}

/** A request URL for `route`: path parameters and query strings forged or real. */
export function requestArb(
  world: World,
  route: Route,
  o: { accountId?: fc.Arbitrary<string> } = {},
): fc.Arbitrary<Req> {
  const cursors = [...world.a.cursors, ...world.b.cursors];
  const pathArbs = route.pathParams.map((p) =>
    p === "accountId" && o.accountId ? o.accountId : idArb(knownIds(world, p)),
  );
  const plausible = plausibleValues(world);
  // Mostly values a client would send, so that a forged cursor is not hidden behind another 400.
  const valueFor = (n: string): fc.Arbitrary<string> =>
    n === "cursor"
      ? cursorArb(cursors)
      : fc.oneof(
          { weight: 4, arbitrary: declaredValue(route, n) ?? plausible[n] ?? queryValue },
          { weight: 1, arbitrary: queryValue },
        );
  // Each declared parameter present a third of the time (the cursor half of the time); then up to two
  // more, declared or not, repeated.
  const declared = route.queryParams.map((n) =>
    fc.oneof(
      { weight: n === "cursor" ? 1 : 2, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: valueFor(n).map((v) => [n, v] as [string, string]) },
    ),
  );
  const extra = fc.array(
    fc
      .constantFrom(...route.queryParams, "unknown", "cursor", "limit")
      .chain((n) => valueFor(n).map((v) => [n, v] as [string, string])),
    { maxLength: 2 },
  );
  const query = fc
    .tuple(fc.tuple(...declared), extra)
    .map(([d, e]) => [...d.filter((x): x is [string, string] => x !== undefined), ...e]);
  return fc.tuple(fc.tuple(...pathArbs), query).map(([values, q]) => {
    let path = route.path;
    route.pathParams.forEach((p, i) => {
      path = path.replace(`{${p}}`, encodeURIComponent(values[i]!));
    });
    const qs = new URLSearchParams(q).toString();
    return { url: qs ? `${path}?${qs}` : path, given: [...values, ...q.flat()] };
  });
}
