/**
 * Dashboard sign-in (C2): email + password → a cookie session (HttpOnly, SameSite=Lax, Secure
 * except over plain http on loopback, where tests and local development run).
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { effectivePermissions } from "../../../shared/model/account/permissions.ts";
import { SESSION_COOKIE } from "../../auth/sessions.ts";
import { ApiError } from "../../errors.ts";
import type { V1Env } from "../env.ts";
import { accountOp, plainOp } from "../op.ts";
import { SessionSchema, SignInBody } from "../schemas.ts";

const tag = "session";

function secureCookie(c: Context<V1Env>): boolean {
  const url = new URL(c.req.url);
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  return !(url.protocol === "http:" && loopback);
}

export const sessionOps = [
  plainOp({
    kind: "public",
    id: "session.create",
    tag,
    summary: "Sign in with email and password: sets the session cookie",
    method: "post",
    path: "/session",
    body: SignInBody,
    status: 201,
    response: SessionSchema,
    run: async ({ c, control, body }) => {
      const member = await control.accounts.signIn(body.email, body.password, body.accountId);
      if (!member) throw new ApiError(401, "unauthenticated", "wrong email or password");
      const { id, session } = await control.sessions.create(member.accountId, member.email);
      setCookie(c, SESSION_COOKIE, id, {
        httpOnly: true,
        secure: secureCookie(c),
        sameSite: "Lax",
        path: "/",
        maxAge: control.sessions.maxAgeSeconds,
      });
      return {
        kind: "member",
        accountId: member.accountId,
        email: member.email,
        role: member.role,
        permissions: member.permissions,
        expiresAt: session.expiresAt,
      };
    },
  }),
  accountOp({
    id: "session.get",
    tag,
    summary: "Who the credential is: the signed-in member or the API key",
    method: "get",
    path: "/session",
    status: 200,
    response: SessionSchema,
    requirement: { who: "account", member: "any", scope: "any", plan: false },
    admin: false,
    run: async ({ control, principal }) => {
      if (principal.kind === "apiKey")
        return {
          kind: "apiKey",
          accountId: principal.accountId,
          keyId: principal.keyId,
          scopes: principal.scopes,
        };
      if (principal.kind !== "member") throw new ApiError(403, "forbidden", "not an account credential");
      return {
        kind: "member",
        accountId: principal.accountId,
        email: principal.email,
        role: principal.role,
        // What the member may do (the same list sign-in answers), not the custom list as stored.
        permissions: effectivePermissions(principal.role, principal.permissions),
        expiresAt: (await control.sessions.resolve(principal.sessionId))?.session.expiresAt,
      };
    },
  }),
  plainOp({
    kind: "public",
    id: "session.delete",
    tag,
    summary: "Sign out: the session ends at once",
    method: "delete",
    path: "/session",
    status: 204,
    run: async ({ c, control }) => {
      const id = getCookie(c, SESSION_COOKIE);
      if (id !== undefined) await control.sessions.delete(id);
      deleteCookie(c, SESSION_COOKIE, { path: "/", secure: secureCookie(c) });
    },
  }),
];
