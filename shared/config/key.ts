/**
 * The shape of one configuration key and the parse of a set of keys (defaults ← file ← env).
 * Web-standard (zod only): the relay's schema (schema.ts) and the edge entry's keys (edge.ts) both
 * use it, so the edge needs no Node module.
 */
import type { z } from "zod";

export interface KeySpec {
  env: string;
  doc: string;
  schema: z.ZodType;
}

export function key<S extends z.ZodType>(env: string, schema: S, doc: string) {
  return { env, schema, doc } satisfies KeySpec;
}

/** A configuration problem; `key` names the offending key (env name and file name). */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`config ${key}: ${message}`);
  }
}

/**
 * Each key from the environment (its PETREL_ name) or else the file (its camelCase name), checked
 * against its schema; the first bad value throws a ConfigError naming where it came from.
 */
export function parseKeys<K extends Record<string, KeySpec>>(
  keys: K,
  env: Record<string, string | undefined>,
  file: Record<string, unknown> = {},
  fileName?: string,
): { [N in keyof K]: z.output<K[N]["schema"]> } {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(keys)) {
    const fromEnv = env[spec.env];
    const raw = fromEnv !== undefined && fromEnv !== "" ? fromEnv : file[name];
    const where = fromEnv !== undefined && fromEnv !== "" ? spec.env : `${name} (${fileName ?? "defaults"})`;
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) throw new ConfigError(where, parsed.error.issues.map((i) => i.message).join("; "));
    out[name] = parsed.data;
  }
  return out as { [N in keyof K]: z.output<K[N]["schema"]> };
}
