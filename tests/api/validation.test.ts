/**
 * Errors of /v1 (issue 3 item 6): zod-validated input, JSON `{ code, message }` with a stable
 * code from one mapping, the offending field named; account errors keep the actor's codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiStack, bearer, call, OPERATOR, type Reply, signIn, startApiStack } from "./harness.ts";

let stack: ApiStack;
const A = "acct-validation";
let admin: Record<string, string>;
let regular: Record<string, string>;

beforeAll(async () => {
  stack = await startApiStack();
  await stack.service.createAccount({ accountId: A, name: "Validation", plan: "starter" });
  await stack.service.addMember(A, { email: "admin@v.test", role: "admin", password: "admin-password-1" });
  await stack.service.addMember(A, {
    email: "regular@v.test",
    role: "regular",
    password: "regular-password-1",
  });
  admin = await signIn(stack.app, "admin@v.test", "admin-password-1");
  regular = await signIn(stack.app, "regular@v.test", "regular-password-1");
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

function expectError(r: Reply, status: number, code: string, field?: string): void {
  expect({ status: r.status, code: r.body?.code, field: r.body?.field }).toEqual({ status, code, field });
  expect(typeof r.body.message).toBe("string");
  expect(r.body.message.length).toBeGreaterThan(0);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
}

describe("validation errors name the field", () => {
  // [what, method, path, body, field]
  const cases: [string, string, string, unknown, string][] = [
    ["account without a name", "post", "/v1/admin/accounts", { plan: "free" }, "name"],
    ["account without a plan", "post", "/v1/admin/accounts", { name: "X" }, "plan"],
    [
      "unknown time zone",
      "post",
      "/v1/admin/accounts",
      { name: "X", plan: "free", timezone: "Mars/Olympus" },
      "timezone",
    ],
    [
      "account id with a slash",
      "post",
      "/v1/admin/accounts",
      { name: "X", plan: "free", accountId: "a/b" },
      "accountId",
    ],
    ["member email", "post", `/v1/admin/accounts/${A}/members`, { email: "nope", role: "admin" }, "email"],
    ["member role", "post", `/v1/admin/accounts/${A}/members`, { email: "x@v.test", role: "owner" }, "role"],
    [
      "unknown permission",
      "post",
      `/v1/admin/accounts/${A}/members`,
      { email: "x@v.test", role: "custom", permissions: ["root"] },
      "permissions.0",
    ],
    [
      "permissions on an admin",
      "post",
      `/v1/admin/accounts/${A}/members`,
      { email: "x@v.test", role: "admin", permissions: ["billing"] },
      "permissions",
    ],
    [
      "short password",
      "post",
      `/v1/admin/accounts/${A}/members`,
      { email: "x@v.test", role: "admin", password: "short" },
      "password",
    ],
    ["empty member patch", "patch", `/v1/admin/accounts/${A}/members/admin@v.test`, {}, "role"],
    ["email in the path", "delete", `/v1/admin/accounts/${A}/members/not-an-email`, undefined, "email"],
    ["domain without a dot", "post", `/v1/admin/accounts/${A}/domains`, { domain: "localhost" }, "domain"],
    [
      "domain in the provider zone",
      "post",
      `/v1/admin/accounts/${A}/domains`,
      { domain: "x.petrel.test" },
      "domain",
    ],
    ["unknown scope", "post", `/v1/admin/accounts/${A}/api-keys`, { scopes: ["root"] }, "scopes.0"],
    [
      "trust that is not a boolean",
      "post",
      `/v1/admin/accounts/${A}/domains/v.test/verify`,
      { trust: "yes" },
      "trust",
    ],
    ["plan missing", "post", `/v1/admin/accounts/${A}/plan`, {}, "plan"],
    ["sign-in email", "post", "/v1/session", { email: "x", password: "p" }, "email"],
  ];
  for (const [what, method, path, body, field] of cases) {
    it(what, async () => {
      const r = await call(stack.app, method, path, {
        headers: OPERATOR,
        ...(body !== undefined ? { body } : {}),
      });
      expectError(r, 400, "invalid_request", field);
      expect(r.body.message).toContain(field);
    });
  }

  it("a body that is not JSON is an invalid_request", async () => {
    const r = await call(stack.app, "post", "/v1/admin/accounts", {
      headers: { ...OPERATOR, "content-type": "application/json" },
      rawBody: "{not json",
    });
    expectError(r, 400, "invalid_request", "body");
  });

  it("a body of another media type is refused with 415", async () => {
    const r = await call(stack.app, "post", "/v1/admin/accounts", {
      headers: { ...OPERATOR, "content-type": "text/plain" },
      rawBody: "name=x",
    });
    expectError(r, 415, "unsupported_media_type");
  });

  it("authentication comes before validation: a bad body without credential is 401", async () => {
    const r = await call(stack.app, "post", "/v1/members", { body: { email: "nope" } });
    expectError(r, 401, "unauthenticated");
  });
});

describe("account errors keep the actor's codes", () => {
  it("an unknown plan is plan_not_found (400)", async () => {
    const r = await call(stack.app, "post", "/v1/admin/accounts", {
      headers: OPERATOR,
      body: { name: "X", plan: "gold" },
    });
    expectError(r, 400, "plan_not_found");
  });
  it("an existing account id is account_exists (409)", async () => {
    const r = await call(stack.app, "post", "/v1/admin/accounts", {
      headers: OPERATOR,
      body: { name: "X", plan: "free", accountId: A },
    });
    expectError(r, 409, "account_exists");
  });
  it("an unknown account is account_not_found (404)", async () => {
    const r = await call(stack.app, "get", "/v1/admin/accounts/acct-nobody", { headers: OPERATOR });
    expectError(r, 404, "account_not_found");
  });
  it("a second member with the same email is member_exists (409), case-insensitively", async () => {
    const r = await call(stack.app, "post", "/v1/members", {
      headers: admin,
      body: { email: "Regular@V.test", role: "regular" },
    });
    expectError(r, 409, "member_exists");
  });
  it("removing the last administrator is last_admin (409)", async () => {
    const r = await call(stack.app, "delete", "/v1/members/admin@v.test", { headers: admin });
    expectError(r, 409, "last_admin");
  });
  it("the current plan again is plan_unchanged (409)", async () => {
    const r = await call(stack.app, "post", "/v1/admin/accounts/acct-validation/plan", {
      headers: OPERATOR,
      body: { plan: "starter" },
    });
    expectError(r, 409, "plan_unchanged");
  });
  it("unknown SMTP user, domain and API key are 404 with their codes", async () => {
    expectError(
      await call(stack.app, "get", "/v1/smtp-users/ptl_nobody", { headers: admin }),
      404,
      "smtp_user_not_found",
    );
    expectError(
      await call(stack.app, "get", "/v1/domains/nowhere.test", { headers: admin }),
      404,
      "domain_not_found",
    );
    expectError(
      await call(stack.app, "delete", "/v1/api-keys/nokey", { headers: admin }),
      404,
      "api_key_not_found",
    );
  });
  it("a second domain with the same name is domain_exists (409)", async () => {
    const first = await call(stack.app, "post", "/v1/domains", {
      headers: admin,
      body: { domain: "Twice.test" },
    });
    expect(first.status).toBe(201);
    expect(first.body.domain).toBe("twice.test");
    const again = await call(stack.app, "post", "/v1/domains", {
      headers: admin,
      body: { domain: "twice.test" },
    });
    expectError(again, 409, "domain_exists");
  });
});

describe("authorization errors", () => {
  it("a member grants only scopes within its permissions (regular: no billing)", async () => {
    const r = await call(stack.app, "post", "/v1/api-keys", {
      headers: regular,
      body: { scopes: ["billing:write"] },
    });
    expectError(r, 403, "forbidden", "scopes");
    const ok = await call(stack.app, "post", "/v1/api-keys", {
      headers: regular,
      body: { scopes: ["users:write"] },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.key).toMatch(/^pk_/);
  });
  it("only the operator may trust a domain", async () => {
    await call(stack.app, "post", "/v1/domains", { headers: admin, body: { domain: "trusty.test" } });
    const r = await call(stack.app, "post", "/v1/domains/trusty.test/verify", {
      headers: admin,
      body: { trust: true },
    });
    expectError(r, 403, "forbidden", "trust");
    const op = await call(stack.app, "post", `/v1/admin/accounts/${A}/domains/trusty.test/verify`, {
      headers: OPERATOR,
      body: { trust: true },
    });
    expect(op.status).toBe(200);
    expect({ status: op.body.status, trusted: op.body.trusted }).toEqual({
      status: "verified",
      trusted: true,
    });
  });
  it("a malformed Authorization header is unauthenticated", async () => {
    expectError(
      await call(stack.app, "get", "/v1/account", { headers: { authorization: "Basic eDp5" } }),
      401,
      "unauthenticated",
    );
    expectError(
      await call(stack.app, "get", "/v1/account", { headers: bearer("pk_nope_nope") }),
      401,
      "unauthenticated",
    );
  });
  it("an unknown route is not_found", async () => {
    expectError(await call(stack.app, "get", "/v1/nothing-here", { headers: admin }), 404, "not_found");
  });
});
