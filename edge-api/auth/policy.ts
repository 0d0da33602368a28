/**
 * Who may call what (C2, C5), as pure functions over literal data: the permission-matrix test
 * drives every route through them, and `authorize()` (authorize.ts) is their only caller in the
 * app. A principal is the caller a credential proves; a requirement is what one route asks.
 */
import { effectivePermissions, PERMISSION_LABELS } from "../../shared/model/account/permissions.ts";
import type { Permission, Role, Scope } from "../../shared/model/account/protocol.ts";
import type { ApiErrorCode } from "../errors.ts";

export type Principal =
  /** The operator's token (O4): not an account, names the account in the path. */
  | { kind: "operator" }
  /** A member signed in to the dashboard (cookie session). */
  | {
      kind: "member";
      accountId: string;
      email: string;
      role: Role;
      permissions: Permission[];
      sessionId: string;
    }
  /** An API key `pk_...` with its scopes. */
  | { kind: "apiKey"; accountId: string; keyId: string; scopes: Scope[] };

export type AccountPrincipal = Exclude<Principal, { kind: "operator" }>;

/**
 * `member`: the permission a signed-in member needs; `any` = every member; `admin_or_regular` =
 * the two full roles (API keys management: no custom permission covers it); null = members may not.
 * `scope`: the API key scope needed; `any` = every key; null = API keys may not (members, keys).
 * `plan`: the account must be allowed to send (C2: no active plan, no SMTP pages).
 */
export type Requirement =
  | { who: "public" }
  | { who: "operator" }
  | {
      who: "account";
      member: Permission | "any" | "admin_or_regular" | null;
      scope: Scope | "any" | null;
      plan: boolean;
    };

export type Decision = { ok: true } | { ok: false; status: 401 | 403; code: ApiErrorCode; message: string };

const ALLOW: Decision = { ok: true };
const deny = (status: 401 | 403, code: ApiErrorCode, message: string): Decision => ({
  ok: false,
  status,
  code,
  message,
});

/** May this principal call a route with this requirement (plan status aside)? */
export function decide(principal: Principal | null, req: Requirement): Decision {
  if (req.who === "public") return ALLOW;
  if (!principal) return deny(401, "unauthenticated", "sign in or send an API key (Authorization: Bearer)");
  if (req.who === "operator")
    return principal.kind === "operator"
      ? ALLOW
      : deny(403, "forbidden", "this route is for the operator token only");
  switch (principal.kind) {
    case "operator":
      return deny(
        403,
        "forbidden",
        "the operator token belongs to no account: use /v1/admin/accounts/{accountId}/... routes",
      );
    case "member": {
      if (req.member === null) return deny(403, "forbidden", "members cannot use this route");
      if (req.member === "any") return ALLOW;
      if (req.member === "admin_or_regular")
        return principal.role === "admin" || principal.role === "regular"
          ? ALLOW
          : deny(403, "forbidden", "only administrators and regular members may use this route");
      return effectivePermissions(principal.role, principal.permissions).includes(req.member)
        ? ALLOW
        : deny(
            403,
            "forbidden",
            `this needs the “${PERMISSION_LABELS[req.member]}” permission (${req.member}); an administrator of the account can grant it on the Team page`,
          );
    }
    case "apiKey": {
      if (req.scope === null) return deny(403, "forbidden", "API keys cannot use this route");
      if (req.scope === "any") return ALLOW;
      return principal.scopes.includes(req.scope)
        ? ALLOW
        : deny(403, "forbidden", `missing scope ${req.scope}`);
    }
  }
}

/** C2: SMTP routes need an account allowed to send. */
export function planGate(req: Requirement, sendingAllowed: boolean): Decision {
  if (req.who !== "account" || !req.plan || sendingAllowed) return ALLOW;
  return deny(403, "plan_inactive", "the account has no active plan: SMTP features are unavailable");
}

/** The permission a scope draws on: a member may only grant scopes within its own permissions. */
export const SCOPE_PERMISSION: Record<Scope, Permission> = {
  "activity:read": "smtp.activity",
  "stats:read": "smtp.activity",
  "users:write": "smtp.users",
  "domains:write": "smtp.domains",
  "suppressions:write": "smtp.suppressions",
  "billing:read": "billing",
  "billing:write": "billing",
};

/** The scopes this principal may put on a new API key (the operator: all). */
export function grantableScopes(principal: Principal, all: readonly Scope[]): Scope[] {
  if (principal.kind === "operator") return [...all];
  if (principal.kind === "apiKey") return [];
  const held = effectivePermissions(principal.role, principal.permissions);
  return all.filter((s) => held.includes(SCOPE_PERMISSION[s]));
}
