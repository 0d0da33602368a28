/**
 * The two middlewares of /v1: `identify` turns the request's credential into a Principal once
 * (Bearer operator token, Bearer `pk_` API key, or the dashboard session cookie), and
 * `authorize(requirement)` — one per route — applies policy.ts to it.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { timingSafeEqual } from "hono/utils/buffer";
import { ApiError } from "../errors.ts";
import type { V1Env } from "../v1/env.ts";
import { decide, type Principal, planGate, type Requirement } from "./policy.ts";
import { SESSION_COOKIE } from "./sessions.ts";

export const API_KEY_PREFIX = "pk_";

export function identify(): MiddlewareHandler<V1Env> {
  return async (c, next) => {
    c.set("principal", null);
    c.set("credentialError", undefined);
    const auth = c.req.header("authorization");
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      const principal = m ? await fromBearer(c, m[1]!) : null;
      if (principal) c.set("principal", principal);
      else
        c.set(
          "credentialError",
          m ? "the bearer token is not valid" : "expected Authorization: Bearer <token>",
        );
    } else {
      const id = getCookie(c, SESSION_COOKIE);
      if (id !== undefined) {
        // A state-changing request from another site never rides on the cookie (CSRF; SameSite=Lax too).
        if (c.req.method !== "GET" && c.req.header("sec-fetch-site") === "cross-site")
          c.set("credentialError", "the session cookie is not accepted on a cross-site request");
        else {
          const principal = await fromSession(c, id);
          if (principal) c.set("principal", principal);
          else c.set("credentialError", "the session has expired or was signed out");
        }
      }
    }
    await next();
  };
}

async function fromBearer(c: Context<V1Env>, token: string): Promise<Principal | null> {
  const control = c.var.control;
  // The operator token first (constant time): a configured token may itself begin with `pk_`.
  if (await timingSafeEqual(token, control.adminToken)) return { kind: "operator" };
  if (!token.startsWith(API_KEY_PREFIX)) return null;
  const key = await control.accounts.authenticateApiKey(token);
  return key ? { kind: "apiKey", accountId: key.accountId, keyId: key.keyId, scopes: [...key.scopes] } : null;
}

/** A member's role and permissions are read afresh on every request: a change applies at once. */
async function fromSession(c: Context<V1Env>, id: string): Promise<Principal | null> {
  const r = await c.var.control.sessions.resolve(id);
  if (!r) return null;
  return {
    kind: "member",
    accountId: r.session.accountId,
    email: r.member.email,
    role: r.member.role,
    permissions: [...r.member.permissions],
    sessionId: id,
  };
}

/** One per route: the caller must satisfy `req`; SMTP routes also need an account allowed to send. */
export function authorize(req: Requirement): MiddlewareHandler<V1Env> {
  return async (c, next) => {
    const principal = c.var.principal;
    const d = decide(principal, req);
    if (!d.ok) {
      const why = d.status === 401 ? c.var.credentialError : undefined;
      throw new ApiError(d.status, d.code, why ?? d.message);
    }
    if (req.who === "account" && req.plan && principal && principal.kind !== "operator") {
      const account = await c.var.control.accounts.getAccount(principal.accountId);
      const g = planGate(req, account.sendingAllowed);
      if (!g.ok) throw new ApiError(g.status, g.code, g.message);
    }
    await next();
  };
}
