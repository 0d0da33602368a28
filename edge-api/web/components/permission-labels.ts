/**
 * C2: roles and permissions in the words members read (seed "Permissions and access to the SMTP
 * service"). Keyed by the closed sets of the account contract, so a new permission without words
 * does not compile.
 */
import { PERMISSION_LABELS, ROLE_HINTS } from "../../../shared/model/account/permissions.ts";
import type { Permission, Role } from "../../../shared/model/account/protocol.ts";

/** Declared with the closed sets (shared/model/account/permissions.ts), shared with the CLI. */
export { PERMISSION_LABELS, ROLE_HINTS };

export const ROLE_LABELS: Record<Role, string> = {
  admin: "Administrator",
  regular: "Regular user",
  custom: "Custom user",
};

export function permissionLabel(p: string): string {
  return PERMISSION_LABELS[p as Permission] ?? p;
}

export function roleLabel(r: string): string {
  return ROLE_LABELS[r as Role] ?? r;
}
