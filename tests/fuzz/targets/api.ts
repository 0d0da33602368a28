/**
 * Every API route's input (issue 17, point 2): each operation of the OpenAPI document (so a new route is
 * fuzzed without touching this file), with forged path ids, query strings and cursors, and JSON bodies
 * — arbitrary JSON, objects with the schema's own property names and odd values, malformed JSON, the
 * wrong media type — asked as tenant C (API key, dashboard session, or the operator on C's admin
 * routes; C alone, so the isolation property's tenants A and B stay as they are). Never a 5xx; an
 * error is JSON with a stable `code` and a message; nothing hangs. C is repaired between cases (a case
 * may cancel it, revoke its key or end its session).
 */
import fc from "fast-check";
import { bearer, call, signIn } from "../../api/harness.ts";
import { queryValue } from "../arbitraries.ts";
import { listRoutes, type Req, type Route, requestArb } from "../routes.ts";
import type { FuzzTarget } from "../target.ts";
import { openWorld, type World } from "../world.ts";
import { checkAnswer } from "./isolation.ts";

const C = "tenant-ccc";
const EMAIL = "ccc-admin@ccc-team.example";
const PASSWORD = "ccc-password-123";

interface Caller {
  key: Record<string, string>;
  session: Record<string, string>;
}

async function prepare(world: World): Promise<Caller> {
  const s = world.stack.service;
  const exists = await s.getAccount(C).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await s.createAccount({ accountId: C, name: "ccc name", plan: "starter" });
    await s.addMember(C, { email: EMAIL, role: "admin", password: PASSWORD });
  }
  return repair(world, undefined);
}

/** C active, its key valid, its administrator signed in — whatever the last case did. */
async function repair(world: World, c: Caller | undefined): Promise<Caller> {
  const s = world.stack.service;
  const account = await s.getAccount(C);
  if (account.status !== "active") await s.setStatus(C, "active");
  let key = c?.key;
  if (!key || (await call(world.stack.app, "get", "/v1/session", { headers: key })).status !== 200)
    key = bearer(
      (
        await s.createApiKey(C, {
          scopes: [
            "activity:read",
            "stats:read",
            "users:write",
            "domains:write",
            "suppressions:write",
            "billing:read",
            "billing:write",
          ],
        })
      ).key,
    );
  let session = c?.session;
  if (!session || (await call(world.stack.app, "get", "/v1/session", { headers: session })).status !== 200) {
    const members = await s.listMembers(C);
    const me = members.find((m) => m.email === EMAIL);
    if (!me) await s.addMember(C, { email: EMAIL, role: "admin", password: PASSWORD });
    else if (me.role !== "admin") await s.updateMember(C, EMAIL, { role: "admin" });
    session = await signIn(world.stack.app, EMAIL, PASSWORD).catch(async () => {
      await s.removeMember(C, EMAIL).catch(() => undefined);
      await s.addMember(C, { email: EMAIL, role: "admin", password: PASSWORD });
      return signIn(world.stack.app, EMAIL, PASSWORD);
    });
  }
  return { key, session };
}

/** A JSON body for `route`: arbitrary JSON, or an object with its schema's names and odd values. */
function bodyArb(names: string[]): fc.Arbitrary<{ raw: string; type: string }> {
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    queryValue,
    fc.constantFrom(
      "admin",
      "regular",
      "starter",
      "pro",
      "free",
      "activity:read",
      "a@b.example",
      "example.com",
    ),
    fc.array(fc.constantFrom("activity:read", "stats:read", "billing:read", "nope", ""), { maxLength: 3 }),
  );
  const named = fc
    .dictionary(names.length > 0 ? fc.constantFrom(...names, "extra") : fc.string(), value, { maxKeys: 5 })
    .map((o) => JSON.stringify(o));
  return fc.oneof(
    { weight: 4, arbitrary: named.map((raw) => ({ raw, type: "application/json" })) },
    {
      weight: 1,
      arbitrary: fc.jsonValue().map((v) => ({ raw: JSON.stringify(v), type: "application/json" })),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((raw) => ({ raw, type: "application/json" })) },
    {
      weight: 1,
      arbitrary: named.map((raw) => ({
        raw,
        type: fc.sample(
          fc.constantFrom(
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin1",
            "",
          ),
          1,
        )[0]!,
      })),
    },
    { weight: 1, arbitrary: fc.constant({ raw: `{"a":${"[".repeat(5000)}`, type: "application/json" }) },
  );
}

async function bodyNames(world: World): Promise<Map<string, string[]>> {
  const doc = (await call(world.stack.app, "get", "/openapi.json")).body;
  const out = new Map<string, string[]>();
  type S = { $ref?: string; properties?: Record<string, unknown> };
  const resolve = (s: S | undefined): S | undefined =>
    s?.$ref ? doc.components?.schemas?.[s.$ref.split("/").at(-1)!] : s;
  for (const [path, ops] of Object.entries(
    doc.paths as Record<
      string,
      Record<string, { requestBody?: { content?: Record<string, { schema?: S }> } }>
    >,
  ))
    for (const [method, op] of Object.entries(ops)) {
      const schema = resolve(op.requestBody?.content?.["application/json"]?.schema);
      out.set(`${method} ${path}`, Object.keys(schema?.properties ?? {}));
    }
  return out;
}

export const api: FuzzTarget = {
  name: "api",
  shortRuns: 200,
  caseTimeoutMs: 15_000,
  async open() {
    const world = await openWorld();
    const routes = (await listRoutes(world)).filter((r) => r.path !== "/metrics");
    const names = await bodyNames(world);
    let caller = await prepare(world);
    const cId = fc.constantFrom(C, C.toUpperCase(), `${C} `, "nobody", "");
    const cases = fc.constantFrom(...routes).chain((route: Route) =>
      fc.record({
        route: fc.constant(route),
        req: requestArb(world, route, { accountId: cId }),
        as: route.admin
          ? fc.constant("operator" as const)
          : fc.constantFrom("key" as const, "session" as const, "none" as const),
        body:
          route.hasBody || route.method !== "get"
            ? fc.option(bodyArb(names.get(`${route.method} ${route.path}`) ?? []), {
                freq: 5,
                nil: undefined,
              })
            : fc.constant(undefined),
      }),
    );
    return {
      property: fc.asyncProperty(cases, async ({ route, req, as, body }) => {
        const auth = as === "operator" ? world.operator : as === "none" ? {} : caller[as];
        const headers: Record<string, string> = {
          ...auth,
          ...(body && body.type !== "" ? { "content-type": body.type } : {}),
        };
        const r = await call(world.stack.app, route.method, req.url, {
          headers,
          ...(body ? { rawBody: body.raw } : {}),
        });
        checkProper(world, req, r);
        if (route.method !== "get") caller = await repair(world, caller);
      }),
      close: () => world.close(),
    };
  },
};

/** The API fuzzer's rules are the isolation property's, minus the leak check (C's data is its own). */
function checkProper(world: World, req: Req, r: Parameters<typeof checkAnswer>[2]): void {
  checkAnswer({ ...world, b: { ...world.b, markers: [] } }, req, r, { counts: false });
}
