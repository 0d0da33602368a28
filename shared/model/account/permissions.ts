/**
 * Roles to permissions (C2) and API key scopes (C5), as data. Admin has every permission,
 * regular every one but billing and members, custom exactly the ones it was given.
 */
import { PERMISSIONS, type Permission, ROLES, type Role, SCOPES, type Scope } from "./protocol.ts";

/** Each permission in the words members read (seed "Permissions and access to the SMTP service"). */
export const PERMISSION_LABELS: Record<Permission, string> = {
  "smtp.activity": "Access SMTP activities",
  "smtp.users": "Manage SMTP users",
  "smtp.domains": "Manage sending domains",
  "smtp.suppressions": "Manage the suppression list",
  billing: "Plans and billing",
  members: "Manage team members",
};

/** What each role may do, in words. */
export const ROLE_HINTS: Record<Role, string> = {
  admin: "everything",
  regular: "everything but billing and team members",
  custom: "only the permissions chosen below",
};

const REGULAR: readonly Permission[] = PERMISSIONS.filter((p) => p !== "billing" && p !== "members");

/** The permissions a member actually holds. */
export function effectivePermissions(role: Role, permissions: readonly Permission[]): Permission[] {
  switch (role) {
    case "admin":
      return [...PERMISSIONS];
    case "regular":
      return [...REGULAR];
    case "custom":
      return PERMISSIONS.filter((p) => permissions.includes(p));
  }
}

export function hasPermission(role: Role, permissions: readonly Permission[], wanted: Permission): boolean {
  return effectivePermissions(role, permissions).includes(wanted);
}

export function isRole(value: unknown): value is Role {
  return (ROLES as readonly unknown[]).includes(value);
}

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
