/**
 * The edge entry's settings (edge-api/edge.ts, X3): part of the one configuration schema (schema.ts
 * spreads them in), kept in a Web-standard module so the edge imports no Node module.
 */
import { z } from "zod";
import { ConfigError, key, parseKeys } from "./key.ts";

/** A 32-byte HMAC key in base64url, unpadded (PETREL_HMAC_KEY, PETREL_EDGE_HMAC_KEY). */
export const HMAC_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const edgeConfigKeys = {
  clickhouseUrl: key(
    "PETREL_CLICKHOUSE_URL",
    z.url().optional(),
    "ClickHouse server URL; unset = chDB in the data dir (the edge entry requires it).",
  ),
  clickhouseUser: key("PETREL_CLICKHOUSE_USER", z.string().min(1).optional(), "ClickHouse server user."),
  clickhousePassword: key(
    "PETREL_CLICKHOUSE_PASSWORD",
    z.string().optional(),
    "ClickHouse server password (a secret).",
  ),
  clickhouseDatabase: key(
    "PETREL_CLICKHOUSE_DATABASE",
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "letters, digits and _")
      .default("petrel"),
    "ClickHouse database of Petrel's tables (created if missing).",
  ),
  edgeHmacKey: key(
    "PETREL_EDGE_HMAC_KEY",
    z.string().regex(HMAC_KEY_PATTERN, "expected the relay's 32-byte HMAC key in base64url").optional(),
    "Edge entry only: the relay's HMAC key (PETREL_HMAC_KEY or secrets.json hmacKey; base64url, a secret) that API keys are checked under.",
  ),
  edgeCacheMs: key(
    "PETREL_EDGE_CACHE_MS",
    z.coerce.number().int().min(0).max(30_000).default(5_000),
    "Edge entry only: how long an API key's or account's directory row is reused, ms.",
  ),
} as const;

export type EdgeConfig = ReturnType<typeof parseKeys<typeof edgeConfigKeys>> & {
  clickhouseUrl: string;
  edgeHmacKey: string;
};

/** The edge's settings from its bindings; the two it cannot run without are required. */
export function loadEdgeConfig(env: Record<string, string | undefined>): EdgeConfig {
  const c = parseKeys(edgeConfigKeys, env);
  if (!c.clickhouseUrl) throw new ConfigError("PETREL_CLICKHOUSE_URL", "required at the edge");
  if (!c.edgeHmacKey) throw new ConfigError("PETREL_EDGE_HMAC_KEY", "required at the edge");
  return c as EdgeConfig;
}
