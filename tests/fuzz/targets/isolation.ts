/**
 * Tenant isolation under random input (issue 17, point 3): every read route of the OpenAPI document
 * (GET under /v1: activity with its CSV and cursors, the recipient timeline, statistics, quota, domains,
 * SMTP users, API keys, members, suppressions, billing, the account), asked by tenant A — with its API
 * key, its dashboard session, or the operator token on A's admin routes — with forged path ids (B's, A's,
 * look-alikes, garbage) and forged cursors (base64url of arbitrary JSON, B's real cursors). Never a 5xx;
 * an error is JSON with a stable `code`; a success carries none of B's ids, addresses or names (unless
 * the request itself carried them: an echo is not a leak) and no count above A's number of recipients.
 */
import fc from "fast-check";
import { call } from "../../api/harness.ts";
import { listRoutes, type Req, requestArb, routeArb } from "../routes.ts";
import type { FuzzTarget } from "../target.ts";
import { openWorld, type World } from "../world.ts";

/** Count fields of the read routes' answers (stats, domain figures, quota, billing). */
const COUNT_KEYS = new Set([
  "recipients",
  "delivered",
  "softBounces",
  "hardBounces",
  "bounces",
  "rejected",
  "value",
  "previous",
  "used",
]);

function counts(v: unknown, out: [string, number][] = []): [string, number][] {
  if (Array.isArray(v)) for (const x of v) counts(x, out);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === "number" && COUNT_KEYS.has(k)) out.push([k, x]);
      else counts(x, out);
    }
  return out;
}

const RATE = /Rate$/;

/** Throws when the answer breaks a rule; answers what it checked, for the counterexample. */
export function checkAnswer(
  world: World,
  req: Req,
  r: { status: number; text: string; body: unknown; headers: Headers },
  o: { counts?: boolean } = {},
): void {
  const where = `${req.url} → ${r.status} ${r.text.slice(0, 300)}`;
  if (r.status >= 500) throw new Error(`5xx: ${where}`);
  const type = r.headers.get("content-type") ?? "";
  if (r.status >= 400) {
    const b = r.body as { code?: unknown; message?: unknown } | undefined;
    if (!type.includes("application/json") || typeof b?.code !== "string" || !/^[a-z_]+$/.test(b.code))
      throw new Error(`error without a JSON code: ${where}`);
    if (typeof b.message !== "string" || b.message === "")
      throw new Error(`error without a message: ${where}`);
  }
  // An echo of the input, normalised (lower case, trimmed) or not, is not a leak.
  const given = req.given.join("\n").toLowerCase();
  const leaked = world.b.markers.filter((m) => r.text.includes(m) && !given.includes(m.toLowerCase()));
  if (leaked.length > 0) throw new Error(`B's ${leaked.join(", ")} in an answer to A: ${where}`);
  if (o.counts !== false && r.status < 300 && type.includes("application/json")) {
    const max = world.a.recipientIds.length;
    // Rates (percent) are exempt: `value` under a *Rate kpi is a percentage.
    const kpis = (r.body as { kpis?: Record<string, unknown> })?.kpis;
    const rates = kpis ? Object.keys(kpis).filter((k) => RATE.test(k)) : [];
    const body = kpis
      ? {
          ...(r.body as object),
          kpis: Object.fromEntries(Object.entries(kpis).filter(([k]) => !rates.includes(k))),
        }
      : r.body;
    const over = counts(body).filter(([k, n]) => n > max && !(k === "used" && n === 0));
    if (over.length > 0)
      throw new Error(`counts above A's ${max} recipients (${JSON.stringify(over)}): ${where}`);
  }
}

export const isolation: FuzzTarget = {
  name: "isolation",
  shortRuns: 300,
  caseTimeoutMs: 15_000,
  async open() {
    const world = await openWorld();
    const reads = (await listRoutes(world)).filter(
      (r) => r.method === "get" && r.path.startsWith("/v1/") && r.path !== "/v1/admin/zone",
    );
    const a = world.a;
    // A's own id and look-alikes of it on A's admin routes: the operator reading A sees only A.
    const aId = fc.constantFrom(a.id, a.id.toUpperCase(), `${a.id} `, `${a.id}%00`);
    const cases = routeArb(reads).chain((route) =>
      fc.record({
        req: requestArb(world, route, { accountId: aId }),
        as: route.admin
          ? fc.constant("operator" as const)
          : fc.constantFrom("key" as const, "session" as const),
      }),
    );
    const headers = { operator: world.operator, key: a.key, session: a.session };
    return {
      property: fc.asyncProperty(cases, async ({ req, as }) => {
        const r = await call(world.stack.app, "get", req.url, { headers: headers[as] });
        if (r.status === 401) throw new Error(`A's credential refused: ${req.url} ${r.text}`);
        checkAnswer(world, req, r);
      }),
      close: () => world.close(),
    };
  },
};
