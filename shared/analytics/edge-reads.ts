/**
 * What the edge (edge-api/edge.ts) reads from the edge directory (migrations/0004_edge_directory.ts,
 * written by the relay: edge-directory.ts) and from `events`: API keys, accounts, and the quota gauge
 * (A7). Runtime-neutral (WebCrypto, no node: import): it runs on Deno / Workers.
 *
 * API keys (C5): a key is `pk_<id>_<secret>`; the relay stores HMAC-SHA256(hmacKey, key) (hex) by
 * key id (shared/security/tokens.ts). An HMAC cannot be recomputed without its key, so the edge holds
 * the relay's HMAC key as a secret (PETREL_EDGE_HMAC_KEY) and compares the digests in constant time.
 * A revoked key's row has `revoked = 1` and no hash: refused on the next lookup.
 * Rows found are cached in memory for at most `cacheMs` (≤ 30 s, bounded to CACHE_MAX entries; misses
 * are not cached): a revocation reaches the edge within that time, plus the writer's lag (one insert).
 */

import { periodContaining } from "../model/account/period.ts";
import { isScope } from "../model/account/permissions.ts";
import type { Scope } from "../model/account/protocol.ts";
import { type QuotaView, quotaView } from "../model/account/views.ts";
import { type QueryClient, rows } from "./client.ts";

export const CACHE_MAX_MS = 30_000;
export const CACHE_MAX = 1_000;

export interface EdgeKey {
  keyId: string;
  hash: string;
  accountId: string;
  scopes: Scope[];
  revoked: boolean;
}

export interface EdgeAccount {
  accountId: string;
  status: string;
  timezone: string;
  plan: string;
  limit: number;
  anchorDay: number;
  periodStart: number;
  periodEnd: number;
  cancelAt?: number;
}

export async function edgeKey(client: QueryClient, keyId: string): Promise<EdgeKey | undefined> {
  const [r] = await rows<{ key_hash: string; account_id: string; scopes: string[]; revoked: number }>(
    client,
    `SELECT key_hash, account_id, scopes, revoked FROM edge_api_keys FINAL WHERE key_id = {id:String}`,
    { id: keyId },
  );
  if (!r) return undefined;
  return {
    keyId,
    hash: r.key_hash,
    accountId: r.account_id,
    scopes: r.scopes.filter(isScope),
    revoked: Number(r.revoked) !== 0,
  };
}

export async function edgeAccount(client: QueryClient, accountId: string): Promise<EdgeAccount | undefined> {
  const [r] = await rows<Record<string, string | number | null>>(
    client,
    `SELECT status, timezone, plan, quota_limit, anchor_day,
       toUnixTimestamp64Milli(period_start) AS start_ms, toUnixTimestamp64Milli(period_end) AS end_ms,
       if(isNull(cancel_at), -1, toUnixTimestamp64Milli(assumeNotNull(cancel_at))) AS cancel_ms
     FROM edge_accounts FINAL WHERE account_id = {account:String}`,
    { account: accountId },
  );
  if (!r) return undefined;
  const cancel = Number(r.cancel_ms);
  return {
    accountId,
    status: String(r.status),
    timezone: String(r.timezone),
    plan: String(r.plan),
    limit: Number(r.quota_limit),
    anchorDay: Number(r.anchor_day),
    periodStart: Number(r.start_ms),
    periodEnd: Number(r.end_ms),
    ...(cancel >= 0 ? { cancelAt: cancel } : {}),
  };
}

/** C2, as accountView's sendingAllowed: active, and a cancellation (if any) not yet in effect. */
export const edgeSendingAllowed = (a: EdgeAccount, now: number): boolean =>
  a.status === "active" && (a.cancelAt === undefined || now < a.cancelAt);

/**
 * A7's `used`: accepted, non-sandbox recipients of the account whose Accepted event lies in
 * [start, end). The actor's counter counts reservations at RCPT time and releases the ones refused
 * later in the transaction (they get a Rejected event, never an Accepted one), so the two agree except
 * for a transaction that straddles a period boundary (reserved before, Accepted event after it).
 */
export async function quotaUsed(
  client: QueryClient,
  accountId: string,
  start: number,
  end: number,
): Promise<number> {
  const [r] = await rows<{ used: string | number }>(
    client,
    `SELECT uniqExact(recipient_id) AS used FROM events
     WHERE account_id = {account:String}
       AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
       AND status = 'Accepted' AND is_test = 0`,
    { account: accountId, from: start, to: end },
  );
  return Number(r?.used ?? 0);
}

/**
 * The gauge the relay's GET /v1/quota answers (QuotaView, same band rule). When the stored period has
 * ended (the relay has not written the next one yet), the period containing `now` is computed from the
 * anchor day in the account's zone, with the stored limit (a downgrade due then shows a period late).
 */
export async function edgeQuota(client: QueryClient, a: EdgeAccount, now: number): Promise<QuotaView> {
  let { periodStart: start, periodEnd: end } = a;
  if (now >= end && a.anchorDay >= 1) ({ start, end } = periodContaining(now, a.anchorDay, a.timezone));
  const used = await quotaUsed(client, a.accountId, start, end);
  return quotaView({ start, end, plan: a.plan, quota: a.limit, used, priceCents: 0, currency: "" });
}

/**
 * A TTL cache of lookups that found a row, at most CACHE_MAX entries, oldest evicted first. A miss is
 * not cached: a key used right after its creation is found as soon as the relay wrote its row.
 */
export function ttlCache<T>(ttlMs: number, now: () => number) {
  const ttl = Math.max(0, Math.min(CACHE_MAX_MS, ttlMs));
  const m = new Map<string, { at: number; value: T }>();
  return async (key: string, load: () => Promise<T>): Promise<T> => {
    const hit = m.get(key);
    if (hit && now() - hit.at < ttl) return hit.value;
    const value = await load();
    m.delete(key);
    if (ttl > 0 && value !== undefined) {
      m.set(key, { at: now(), value });
      if (m.size > CACHE_MAX) m.delete(m.keys().next().value as string);
    }
    return value;
  };
}

/** The id of a well-formed API key (the same form as shared/security/tokens.ts apiKeyId). */
export function edgeApiKeyId(key: string): string | undefined {
  return /^pk_([a-z2-7]{12})_[A-Za-z0-9_-]{32}$/.exec(key)?.[1];
}

/** HMAC-SHA256 of `value` under `key`, hex (WebCrypto; tokens.ts keyedHash on Node). */
export async function hmacHex(key: Uint8Array, value: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    new Uint8Array(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(value));
  return Array.from(new Uint8Array(sig), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Constant-time equality of two hex digests (false when lengths differ or empty). */
export function hexEqual(a: string, b: string): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
