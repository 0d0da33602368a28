/**
 * C2: roles and permissions in the words members read (seed "Permissions and access to the SMTP
 * service"). Keyed by the closed sets of the account contract, so a new permission without words
 * does not compile.
 */
import type { Permission, Role } from "../../../shared/model/account/protocol.ts";

export const PERMISSION_LABELS: Record<Permission, string> = {
  "smtp.activity": "Access SMTP activities",
  "smtp.users": "Manage SMTP users",
  "smtp.domains": "Manage sending domains",
  "smtp.suppressions": "Manage the suppression list",
  billing: "Plans and billing",
  members: "Manage team members",
};

export const ROLE_LABELS: Record<Role, string> = {
  admin: "Administrator",
  regular: "Regular user",
  custom: "Custom user",
};

export const ROLE_HINTS: Record<Role, string> = {
  admin: "everything",
  regular: "everything but billing and team members",
  custom: "only the permissions chosen below",
};

export function permissionLabel(p: string): string {
  return PERMISSION_LABELS[p as Permission] ?? p;
}

export function roleLabel(r: string): string {
  return ROLE_LABELS[r as Role] ?? r;
}
