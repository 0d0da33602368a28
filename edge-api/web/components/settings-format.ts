/**
 * Words and numbers of the settings pages (Domains, Users, Pricing, Team): dates in the account's
 * time zone (C1), prices from cents (C6), counts with separators. Pure functions.
 */
import type { PageApi } from "../api.ts";
import type { Account } from "../types.ts";

/** `Nov 22, 2026` in the account's time zone. */
export function day(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat("en-US", { timeZone: timezone, dateStyle: "medium" }).format(ms);
}

/** `Nov 22, 2026, 11:40 PM` in the account's time zone. */
export function dayTime(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    dateStyle: "medium",
    timeStyle: "short",
  }).format(ms);
}

/** `$15.00` from 1500 cents of USD. */
export function money(cents: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

/** `20,000`. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** The account's time zone (GET /v1/account, open to every member), UTC when it cannot be read. */
export async function accountTimezone(api: PageApi): Promise<string> {
  const a = await api.tryGet<Account>("/account");
  return a instanceof Error ? "UTC" : a.timezone;
}
