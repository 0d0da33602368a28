/**
 * Retry policy (D6) as pure functions, tested against literal tables: an exponential schedule
 * with jitter, and the maximum retry period after which a deferral becomes a soft bounce.
 */

import { createHash } from "node:crypto";
import { CONFIG_DEFAULTS, type Config } from "../../shared/config/schema.ts";

export interface BackoffPolicy {
  /** Delay before the 2nd attempt (after the 1st failure). */
  baseMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /** Fraction of spread around the delay: 0.2 = ±20 %. */
  jitter: number;
}

/** The schedule from the one config (PETREL_DELIVERY_BACKOFF_*), with ±20 % jitter (D6). */
export function backoffFromConfig(
  c: Pick<Config, "deliveryBackoffBaseSeconds" | "deliveryBackoffMaxSeconds">,
): BackoffPolicy {
  return {
    baseMs: c.deliveryBackoffBaseSeconds * 1000,
    maxMs: c.deliveryBackoffMaxSeconds * 1000,
    jitter: 0.2,
  };
}

export const DEFAULT_BACKOFF: BackoffPolicy = backoffFromConfig(CONFIG_DEFAULTS);

/**
 * Delay after the `n`-th failed attempt (n ≥ 1): base·2^(n−1), capped at max, then spread by
 * `jitter` using `u` ∈ [0, 1) (0.5 = no change). `u` comes from `jitterUnit`, a hash, so the
 * actor's transition stays deterministic when replayed.
 */
export function delayForAttempt(n: number, policy: BackoffPolicy = DEFAULT_BACKOFF, u = 0.5): number {
  const k = Math.max(1, Math.floor(n));
  const raw = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(k - 1, 40));
  return Math.round(raw * (1 + policy.jitter * (2 * u - 1)));
}

/** A deterministic value in [0, 1) for one recipient's attempt. */
export function jitterUnit(recipientId: string, attempt: number): number {
  const h = createHash("sha256").update(`${recipientId}#${attempt}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/** True when a retry due at `nextAt` would start past the maximum retry period. */
export function isExpired(acceptedAt: number, nextAt: number, maxRetryMs: number): boolean {
  return nextAt - acceptedAt > maxRetryMs;
}
