/**
 * Words and numbers of the settings pages (Domains, Users, Pricing, Team): dates in the account's
 * time zone (C1) as ISO dates (`2026-11-22`, the same as Activity's times and the date fields),
 * prices from cents (C6), counts with separators. Pure functions.
 */
import { DateTime } from "luxon";
import type { PageApi } from "../api.ts";
import type { Account } from "../types.ts";

/** `2026-11-22` in the account's time zone. */
export function day(ms: number, timezone: string): string {
  return DateTime.fromMillis(ms, { zone: timezone }).toFormat("yyyy-MM-dd");
}

/** `2026-11-22 23:40:05` in the account's time zone. */
export function dayTime(ms: number, timezone: string): string {
  return DateTime.fromMillis(ms, { zone: timezone }).toFormat("yyyy-MM-dd HH:mm:ss");
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
