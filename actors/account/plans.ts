/**
 * Plan policy (C6): the catalog comes from config (`plans`, default free/starter/pro/business);
 * an upgrade applies at once and raises the current period's quota, a downgrade waits for the
 * next period; cancellation stops sending at the end of the current period and erases the data
 * a retention period later.
 */
import type { Plan } from "../../shared/model/account/protocol.ts";

export const DAY_MS = 86_400_000;

export function findPlan(catalog: readonly Plan[], name: string): Plan | undefined {
  return catalog.find((p) => p.name === name);
}

export type PlanChangeKind = "unchanged" | "upgrade" | "downgrade";

/**
 * Ordered by monthly recipients, then price. A different plan of the same rank is a lateral
 * change, applied at once like an upgrade (nobody loses quota in the middle of a period).
 */
export function classifyPlanChange(current: Plan, next: Plan): PlanChangeKind {
  if (current.name === next.name) return "unchanged";
  if (next.monthlyRecipients < current.monthlyRecipients) return "downgrade";
  if (next.monthlyRecipients > current.monthlyRecipients) return "upgrade";
  return next.priceCents < current.priceCents ? "downgrade" : "upgrade";
}

/** When the data of an account cancelled at `cancelAt` is erased. */
export function eraseAtFor(cancelAt: number, retentionDays: number): number {
  return cancelAt + retentionDays * DAY_MS;
}

export function isPlan(p: unknown): p is Plan {
  if (typeof p !== "object" || p === null) return false;
  const o = p as Record<string, unknown>;
  return (
    typeof o.name === "string" &&
    o.name.length > 0 &&
    Number.isSafeInteger(o.monthlyRecipients) &&
    (o.monthlyRecipients as number) >= 0 &&
    Number.isSafeInteger(o.priceCents) &&
    (o.priceCents as number) >= 0 &&
    typeof o.currency === "string"
  );
}
