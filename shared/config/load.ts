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

/**
 * defaults ← file ← environment. The file uses the camelCase names (`submissionPort`), the
 * environment the PETREL_ names; both are checked against the same schema.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const file = env[FILE_VAR] ? readFile(env[FILE_VAR]) : {};
  for (const name of Object.keys(file)) {
    if (!(name in configKeys)) throw new ConfigError(name, `unknown key in ${env[FILE_VAR]}`);
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith("PETREL_") && !knownEnv.has(name)) throw new ConfigError(name, "unknown setting");
  }
  const config: Config = parseKeys(configKeys, env, file, env[FILE_VAR]);
  checkListeners(config);
  checkS3Credentials(config);
  return config;
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

/** An S3 access key id without its secret (or the reverse) cannot sign: name the missing one. */
function checkS3Credentials(config: Config): void {
  if (config.s3AccessKeyId && !config.s3SecretAccessKey)
    throw new ConfigError(configKeys.s3SecretAccessKey.env, "required when PETREL_S3_ACCESS_KEY_ID is set");
  if (config.s3SecretAccessKey && !config.s3AccessKeyId)
    throw new ConfigError(configKeys.s3AccessKeyId.env, "required when PETREL_S3_SECRET_ACCESS_KEY is set");
}

const SECRET_KEYS = new Set<string>(["adminToken", "clickhousePassword", "edgeHmacKey", "s3SecretAccessKey"]);

/** The effective configuration, secrets masked, for `--print-config` and start-up logs. */
export function describeConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, SECRET_KEYS.has(k) && v ? "***" : v]));
}

export { z };
