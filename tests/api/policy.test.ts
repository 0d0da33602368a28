/**
 * The API's policy and error mapping as pure functions, against literal tables (STYLE): who may
 * call a requirement (C2, C5), which scopes a member may grant, and the status of each error code.
 */
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { AccountError } from "../../actors/account/errors.ts";
import { AskTimeoutError } from "../../actors/errors.ts";
import {
  decide,
  grantableScopes,
  type Principal,
  planGate,
  type Requirement,
} from "../../edge-api/auth/policy.ts";
import { ApiError, errorResponse } from "../../edge-api/errors.ts";
import { SCOPES } from "../../shared/model/account/protocol.ts";

const member = (role: "admin" | "regular" | "custom", permissions: string[] = []): Principal =>
  ({ kind: "member", accountId: "a", email: "m@a.test", role, permissions, sessionId: "s" }) as Principal;
const key = (...scopes: string[]): Principal =>
  ({ kind: "apiKey", accountId: "a", keyId: "k", scopes }) as Principal;
const op: Principal = { kind: "operator" };
const acct = (m: unknown, s: unknown, plan = false) =>
  ({ who: "account", member: m, scope: s, plan }) as Requirement;

describe("decide", () => {
  // [principal, requirement, status (0 = allowed)]
  const table: [string, Principal | null, Requirement, number][] = [
    ["nobody, public", null, { who: "public" }, 0],
    ["nobody, account", null, acct("any", "any"), 401],
    ["nobody, operator", null, { who: "operator" }, 401],
    ["operator, operator", op, { who: "operator" }, 0],
    ["operator, account", op, acct("any", "any"), 403],
    ["admin, operator", member("admin"), { who: "operator" }, 403],
    ["key, operator", key(...SCOPES), { who: "operator" }, 403],
    ["admin, billing", member("admin"), acct("billing", null), 0],
    ["admin, members", member("admin"), acct("members", null), 0],
    ["regular, billing", member("regular"), acct("billing", null), 403],
    ["regular, members", member("regular"), acct("members", null), 403],
    ["regular, smtp.users", member("regular"), acct("smtp.users", null), 0],
    ["regular, admin_or_regular", member("regular"), acct("admin_or_regular", null), 0],
    [
      "custom all, admin_or_regular",
      member("custom", ["smtp.activity", "smtp.users", "smtp.domains", "billing", "members"]),
      acct("admin_or_regular", null),
      403,
    ],
    ["custom billing, billing", member("custom", ["billing"]), acct("billing", null), 0],
    ["custom billing, members", member("custom", ["billing"]), acct("members", null), 403],
    ["custom none, any", member("custom"), acct("any", null), 0],
    ["member, members-null", member("admin"), acct(null, "any"), 403],
    ["key, no keys", key(...SCOPES), acct("any", null), 403],
    ["key without scopes, any", key(), acct(null, "any"), 0],
    ["key users:write", key("users:write"), acct("smtp.users", "users:write"), 0],
    ["key billing:read, billing:write", key("billing:read"), acct("billing", "billing:write"), 403],
  ];
  for (const [what, p, req, status] of table) {
    it(what, () => {
      const d = decide(p, req);
      expect(d.ok ? 0 : d.status).toBe(status);
    });
  }

  it("gates SMTP requirements on the plan", () => {
    expect(planGate(acct("any", "any", true), false)).toMatchObject({
      ok: false,
      status: 403,
      code: "plan_inactive",
    });
    expect(planGate(acct("any", "any", true), true).ok).toBe(true);
    expect(planGate(acct("any", "any", false), false).ok).toBe(true);
  });
});

describe("grantableScopes", () => {
  it("follows the member's permissions; keys grant nothing; the operator everything", () => {
    expect(grantableScopes(member("admin"), SCOPES)).toEqual([...SCOPES]);
    expect(grantableScopes(member("regular"), SCOPES)).toEqual([
      "activity:read",
      "stats:read",
      "users:write",
      "domains:write",
      "suppressions:write",
    ]);
    expect(grantableScopes(member("custom", ["smtp.domains"]), SCOPES)).toEqual(["domains:write"]);
    expect(grantableScopes(key(...SCOPES), SCOPES)).toEqual([]);
    expect(grantableScopes(op, SCOPES)).toEqual([...SCOPES]);
  });
});

describe("errorResponse: the one mapping", () => {
  const named = (name: string, message: string, code?: string) =>
    Object.assign(new Error(message), { name, ...(code ? { code } : {}) });
  // [error, status, code]
  const table: [string, unknown, number, string][] = [
    ["ApiError", new ApiError(403, "plan_inactive", "no plan"), 403, "plan_inactive"],
    ["account_not_found", new AccountError("account_not_found", "x"), 404, "account_not_found"],
    ["member_exists", new AccountError("member_exists", "x"), 409, "member_exists"],
    ["last_admin", new AccountError("last_admin", "x"), 409, "last_admin"],
    ["plan_not_found", new AccountError("plan_not_found", "x"), 400, "plan_not_found"],
    ["account_inactive", new AccountError("account_inactive", "x"), 403, "account_inactive"],
    ["invalid_request", new AccountError("invalid_request", "x"), 400, "invalid_request"],
    ["DomainCheckError", named("DomainCheckError", "x", "domain_not_found"), 404, "domain_not_found"],
    ["DomainNameError", named("DomainNameError", "bad name"), 400, "invalid_request"],
    ["an unknown code is internal", named("AccountError", "x", "made_up"), 500, "internal"],
    [
      "malformed JSON",
      new HTTPException(400, { message: "Malformed JSON in request body" }),
      400,
      "invalid_request",
    ],
    [
      "media type",
      new HTTPException(415, { message: "Unsupported Media Type" }),
      415,
      "unsupported_media_type",
    ],
    ["ask timeout", new AskTimeoutError("account:a", 10), 503, "unavailable"],
    ["anything else", new TypeError("boom"), 500, "internal"],
  ];
  for (const [what, err, status, code] of table) {
    it(what, () => {
      const r = errorResponse(err);
      expect({ status: r.status, code: r.body.code }).toEqual({ status, code });
      expect(r.body.message.length).toBeGreaterThan(0);
    });
  }
});
