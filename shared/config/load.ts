import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError, parseKeys } from "./key.ts";
import { type Config, configKeys } from "./schema.ts";

export { ConfigError };

const FILE_VAR = "PETREL_CONFIG";
const knownEnv = new Set<string>([FILE_VAR, ...Object.values(configKeys).map((k) => k.env)]);

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(FILE_VAR, `cannot read ${path}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(FILE_VAR, `${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ConfigError(FILE_VAR, `${path} must hold a JSON object`);
  }
  return data as Record<string, unknown>;
}

/** Settings that were renamed: a config still using the old name is told the new one. */
const RENAMED: Readonly<Record<string, string>> = {
  PETREL_S3_CACHE_MB: "PETREL_CONTENT_CACHE_MB (it now applies to the local store too)",
  s3CacheMb: "contentCacheMb (it now applies to the local store too)",
};

function refuseRenamed(name: string): void {
  const now = RENAMED[name];
  if (now) throw new ConfigError(name, `renamed: use ${now}`);
}

/**
 * defaults ← file ← environment. The file uses the camelCase names (`submissionPort`), the
 * environment the PETREL_ names; both are checked against the same schema.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const file = env[FILE_VAR] ? readFile(env[FILE_VAR]) : {};
  for (const name of Object.keys(file)) {
    refuseRenamed(name);
    if (!(name in configKeys)) throw new ConfigError(name, `unknown key in ${env[FILE_VAR]}`);
  }
  for (const name of Object.keys(env)) {
    refuseRenamed(name);
    if (name.startsWith("PETREL_") && !knownEnv.has(name)) throw new ConfigError(name, "unknown setting");
  }
  const parsed: Config = parseKeys(configKeys, env, file, env[FILE_VAR]);
  checkListeners(parsed);
  checkS3Credentials(parsed);
  checkAnalyticsWindow(parsed);
  return {
    ...parsed,
    analyticsFlushMaxMs:
      parsed.analyticsFlushMaxMs ?? Math.max(DEFAULT_FLUSH_MAX_MS, parsed.analyticsFlushMs),
  };
}

/** Two listeners on one port would fail at start with EADDRINUSE; say which keys clash instead. */
function checkListeners(config: Config): void {
  const listeners = ["submissionPort", "smtpsPort", "bouncePort", "httpPort"] as const;
  const seen = new Map<number, (typeof listeners)[number]>();
  for (const name of listeners) {
    const port = config[name];
    if (port === 0) continue; // 0 = any free port, chosen by the system
    const other = seen.get(port);
    if (other) {
      throw new ConfigError(
        configKeys[name].env,
        `port ${port} is already taken by ${configKeys[other].env}; every listener needs its own port`,
      );
    }
    seen.set(port, name);
  }
}

/** The analytics sink's longest window when PETREL_ANALYTICS_FLUSH_MAX_MS is unset (or shorter: the floor). */
const DEFAULT_FLUSH_MAX_MS = 5_000;

/** The analytics sink's window grows from PETREL_ANALYTICS_FLUSH_MS up to the maximum, never down. */
function checkAnalyticsWindow(config: Config): void {
  if (config.analyticsFlushMaxMs !== undefined && config.analyticsFlushMaxMs < config.analyticsFlushMs)
    throw new ConfigError(
      configKeys.analyticsFlushMaxMs.env,
      `${config.analyticsFlushMaxMs} is below PETREL_ANALYTICS_FLUSH_MS (${config.analyticsFlushMs}); set it at least as high (equal = a fixed window)`,
    );
}

/** An S3 access key id without its secret (or the reverse) cannot sign: name the missing one. */
function checkS3Credentials(config: Config): void {
  if (config.s3AccessKeyId && !config.s3SecretAccessKey)
    throw new ConfigError(configKeys.s3SecretAccessKey.env, "required when PETREL_S3_ACCESS_KEY_ID is set");
  if (config.s3SecretAccessKey && !config.s3AccessKeyId)
    throw new ConfigError(configKeys.s3AccessKeyId.env, "required when PETREL_S3_SECRET_ACCESS_KEY is set");
}

/**
 * X2: with Kafka, several nodes serve the same accounts, so what one node signs or hashes another
 * must check. A node-local generated secret (secrets.json, the self-signed TLS pair) or chDB in the
 * data dir would differ per node: start-up refuses them, naming the first missing key. Called by
 * the entries (main.ts, main.deno.ts) and by `startRelay`; the CLI, which needs none of them, not.
 */
export function checkClusterSettings(config: Config): void {
  if (config.kafkaBrokers.length === 0) return;
  const shared = "required with PETREL_KAFKA_BROKERS: every node must use the same value (X2)";
  const required: [keyof Config, string][] = [
    ["hmacKey", `${shared}; a generated one would differ per node (API keys, AUTH cache, VERP)`],
    ["adminToken", `${shared}; a generated one would differ per node`],
    ["tlsKey", `${shared}; a self-signed pair would differ per node`],
    ["tlsCert", `${shared}; a self-signed pair would differ per node`],
    ["clickhouseUrl", "required with PETREL_KAFKA_BROKERS: chDB in the data dir is node-local (X2)"],
  ];
  for (const [name, why] of required) if (!config[name]) throw new ConfigError(configKeys[name].env, why);
}

const SECRET_KEYS = new Set<string>([
  "adminToken",
  "clickhousePassword",
  "edgeHmacKey",
  "hmacKey",
  "s3SecretAccessKey",
  "verpKey",
]);

/** A PEM given as text rather than a path holds the private key itself. */
const isPemText = (v: unknown) => typeof v === "string" && v.includes("-----BEGIN");

/** The effective configuration, secrets masked, for `--print-config` and start-up logs. */
export function describeConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, (SECRET_KEYS.has(k) && v) || isPemText(v) ? "***" : v]),
  );
}

export { z };
