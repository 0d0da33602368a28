/**
 * Dashboard sign-in (C2): email + password → a secure cookie session kept server-side; sign-out,
 * expiry, member removal and password change end it; cross-site writes never ride on it. Also
 * the SMTP user details (C3) a signed-in member sees: connection settings, never a password.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiStack, CERT_SHA256, call, OPERATOR, signIn, startApiStack } from "./harness.ts";

let stack: ApiStack;
const A = "acct-session";
const B = "acct-session-b";

beforeAll(async () => {
  stack = await startApiStack();
  await stack.service.createAccount({ accountId: A, name: "Session", plan: "starter" });
  await stack.service.createAccount({ accountId: B, name: "Other", plan: "starter" });
  await stack.service.addMember(A, { email: "boss@s.test", role: "admin", password: "boss-password-1" });
  await stack.service.addMember(A, {
    email: "dev@s.test",
    role: "custom",
    permissions: ["smtp.users"],
    password: "dev-password-1",
  });
  await stack.service.addMember(B, { email: "dev@s.test", role: "admin", password: "other-password-1" });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe("sign-in", () => {
  it("sets an HttpOnly, SameSite=Lax cookie (no Secure over loopback http) and names the member", async () => {
    const r = await call(stack.app, "post", "/v1/session", {
      body: { email: "Boss@S.test", password: "boss-password-1" },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: "member", accountId: A, email: "boss@s.test", role: "admin" });
    const cookie = r.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^petrel_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; Max-Age=43200/);
    expect(cookie).not.toMatch(/Secure/);
  });

  it("marks the cookie Secure when the request is not plain http on loopback", async () => {
    const res = await stack.app.request("https://relay.example.net/v1/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "boss@s.test", password: "boss-password-1" }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("set-cookie")).toMatch(/; Secure/);
  });

  it("refuses a wrong password or an unknown email alike", async () => {
    const wrong = await call(stack.app, "post", "/v1/session", {
      body: { email: "boss@s.test", password: "nope-nope-nope" },
    });
    const unknown = await call(stack.app, "post", "/v1/session", {
      body: { email: "who@s.test", password: "nope-nope-nope" },
    });
    for (const r of [wrong, unknown]) {
      expect({ status: r.status, code: r.body.code, message: r.body.message }).toEqual({
        status: 401,
        code: "unauthenticated",
        message: "wrong email or password",
      });
      expect(r.headers.get("set-cookie")).toBeNull();
    }
  });

  it("picks the account whose password matches, or the one named", async () => {
    const other = await call(stack.app, "post", "/v1/session", {
      body: { email: "dev@s.test", password: "other-password-1" },
    });
    expect(other.body).toMatchObject({ accountId: B, role: "admin" });
    const named = await call(stack.app, "post", "/v1/session", {
      body: { email: "dev@s.test", password: "dev-password-1", accountId: A },
    });
    expect(named.body).toMatchObject({ accountId: A, role: "custom" });
    const mismatch = await call(stack.app, "post", "/v1/session", {
      body: { email: "dev@s.test", password: "other-password-1", accountId: A },
    });
    expect(mismatch.status).toBe(401);
  });
});

describe("the session", () => {
  it("answers GET /v1/session and the account's routes; sign-out ends it at once", async () => {
    const cookie = await signIn(stack.app, "boss@s.test", "boss-password-1");
    const me = await call(stack.app, "get", "/v1/session", { headers: cookie });
    expect(me.body).toMatchObject({ kind: "member", accountId: A, email: "boss@s.test" });
    expect((await call(stack.app, "get", "/v1/account", { headers: cookie })).body.accountId).toBe(A);
    const out = await call(stack.app, "delete", "/v1/session", { headers: cookie });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/petrel_session=;.*Max-Age=0/);
    const after = await call(stack.app, "get", "/v1/account", { headers: cookie });
    expect({ status: after.status, code: after.body.code }).toEqual({ status: 401, code: "unauthenticated" });
  });

  it("follows role changes on the next request and ends when the member is removed", async () => {
    await stack.service.addMember(A, { email: "temp@s.test", role: "regular", password: "temp-password-1" });
    const cookie = await signIn(stack.app, "temp@s.test", "temp-password-1");
    expect((await call(stack.app, "get", "/v1/smtp-users", { headers: cookie })).status).toBe(200);
    await call(stack.app, "patch", `/v1/admin/accounts/${A}/members/temp@s.test`, {
      headers: OPERATOR,
      body: { role: "custom", permissions: ["billing"] },
    });
    expect((await call(stack.app, "get", "/v1/smtp-users", { headers: cookie })).status).toBe(403);
    expect((await call(stack.app, "get", "/v1/account/billing", { headers: cookie })).status).toBe(200);
    await call(stack.app, "delete", `/v1/admin/accounts/${A}/members/temp@s.test`, { headers: OPERATOR });
    expect((await call(stack.app, "get", "/v1/account", { headers: cookie })).status).toBe(401);
  });

  it("a password change ends the member's other sessions but not the one that made it", async () => {
    await stack.service.addMember(A, { email: "pw@s.test", role: "admin", password: "first-password-1" });
    const laptop = await signIn(stack.app, "pw@s.test", "first-password-1");
    const phone = await signIn(stack.app, "pw@s.test", "first-password-1");
    const r = await call(stack.app, "patch", "/v1/members/pw@s.test", {
      headers: laptop,
      body: { password: "second-password-2" },
    });
    expect(r.status).toBe(200);
    expect((await call(stack.app, "get", "/v1/account", { headers: laptop })).status).toBe(200);
    expect((await call(stack.app, "get", "/v1/account", { headers: phone })).status).toBe(401);
    await signIn(stack.app, "pw@s.test", "second-password-2");
  });

  it("expires after its lifetime (12 h)", async () => {
    const cookie = await signIn(stack.app, "boss@s.test", "boss-password-1");
    stack.clock.advance(12 * 3600_000 - 1);
    expect((await call(stack.app, "get", "/v1/account", { headers: cookie })).status).toBe(200);
    stack.clock.advance(1);
    const r = await call(stack.app, "get", "/v1/account", { headers: cookie });
    expect({ status: r.status, message: r.body.message }).toEqual({
      status: 401,
      message: "the session has expired or was signed out",
    });
  });

  it("does not carry a cross-site write (CSRF)", async () => {
    const cookie = await signIn(stack.app, "boss@s.test", "boss-password-1");
    const r = await call(stack.app, "post", "/v1/smtp-users", {
      headers: { ...cookie, "sec-fetch-site": "cross-site" },
      body: { name: "csrf" },
    });
    expect({ status: r.status, message: r.body.message }).toEqual({
      status: 401,
      message: "the session cookie is not accepted on a cross-site request",
    });
    expect((await stack.service.listSmtpUsers(A)).map((u) => u.name)).not.toContain("csrf");
    const same = await call(stack.app, "post", "/v1/smtp-users", {
      headers: { ...cookie, "sec-fetch-site": "same-origin" },
      body: { name: "same-site" },
    });
    expect(same.status).toBe(201);
  });
});

describe("SMTP user details (C3)", () => {
  it("show server, ports, encryption and username; the password only once, at creation and reset", async () => {
    const cookie = await signIn(stack.app, "dev@s.test", "dev-password-1");
    const created = await call(stack.app, "post", "/v1/smtp-users", {
      headers: cookie,
      body: { name: "web shop" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "web shop" });
    expect(created.body.username).toMatch(/^ptl_/);
    expect(created.body.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const details = await call(stack.app, "get", `/v1/smtp-users/${created.body.username}`, {
      headers: cookie,
    });
    expect(details.body).toEqual({
      username: created.body.username,
      name: "web shop",
      createdAt: created.body.createdAt,
      connection: {
        server: "smtp.petrel.test",
        ports: [
          { port: 587, encryption: "STARTTLS" },
          { port: 465, encryption: "TLS" },
        ],
        certificate: { sha256: CERT_SHA256, selfSigned: true },
      },
    });
    const list = await call(stack.app, "get", "/v1/smtp-users", { headers: cookie });
    for (const text of [details.text, list.text]) {
      expect(text).not.toContain(created.body.password);
      expect(text).not.toMatch(/scrypt|passwordHash|"password"/);
    }
    const reset = await call(stack.app, "post", `/v1/smtp-users/${created.body.username}/reset`, {
      headers: cookie,
    });
    expect(reset.body.username).toBe(created.body.username);
    expect(reset.body.password).not.toBe(created.body.password);
  });
});
