/**
 * The SMTP section's pages and the permission each needs (C2, U1): a table, so the menu, the
 * page guards and the tests read the same thing. The API enforces the same permissions.
 */

export const PAGES = [
  { path: "/", label: "Dashboard", permission: "smtp.activity" },
  { path: "/activity", label: "Activity", permission: "smtp.activity" },
  { path: "/domains", label: "Domains", permission: "smtp.domains" },
  { path: "/users", label: "Users", permission: "smtp.users" },
  { path: "/pricing", label: "Pricing", permission: "billing" },
  { path: "/team", label: "Team", permission: "members" },
] as const;

export type PagePath = (typeof PAGES)[number]["path"];

/** The pages this member may open, in menu order. */
export function visiblePages(permissions: readonly string[]): (typeof PAGES)[number][] {
  return PAGES.filter((p) => permissions.includes(p.permission));
}

/** A7: the bar's colour band and its words, from the API's quota answer. */
export function quotaMessage(q: { used: number; limit: number; percent: number; band: string }): string {
  const used = `${q.used.toLocaleString("en-US")} of ${q.limit.toLocaleString("en-US")} recipients this period (${Math.floor(q.percent)} %)`;
  if (q.band === "red")
    return `${used}. Quota reached: sending blocked until the next period or a plan upgrade.`;
  if (q.band === "orange") return `${used}. You are close to your monthly quota.`;
  return `${used}.`;
}
