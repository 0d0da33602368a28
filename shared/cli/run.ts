/**
 * The operator CLI `petrel` (O4): parses the command line (node:util parseArgs), calls the
 * running relay's operator API with the operator token, prints JSON on stdout; on failure one
 * line on stderr and a non-zero exit code (2 usage, 1 anything else).
 */
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config/load.ts";
import { readServerSecrets, SECRETS_FILE } from "../security/secrets.ts";
import { COMMANDS, type Command, type Values } from "./commands.ts";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  fetch: typeof fetch;
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure with the one line the user sees. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILURE,
  ) {
    super(message);
  }
}

const GLOBAL = { api: { type: "string" }, help: { type: "boolean", short: "h" } } as const;

export function usage(): string {
  const lines = COMMANDS.map((c) => {
    const opts = Object.entries(c.options).map(([k, o]) => {
      const arg = o.type === "boolean" ? `--${k}` : `--${k} ${k.toUpperCase()}${o.multiple ? " ..." : ""}`;
      return c.required.includes(k) ? arg : `[${arg}]`;
    });
    return `  petrel ${[c.name, ...opts].join(" ")}\n      ${c.summary}`;
  });
  return [
    "usage: petrel <command> [options] [--api http://host:port]",
    "The operator token comes from PETREL_ADMIN_TOKEN or the data dir's secrets file.",
    "",
    ...lines,
    "",
  ].join("\n");
}

/** The command is the first two words (`account create`), or one (`quota`); options follow. */
function findCommand(argv: string[]): { command: Command; rest: string[] } {
  const name = argv.slice(0, 2).join(" ");
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return { command, rest: argv.slice(2) };
  const single = COMMANDS.find((c) => c.name === argv[0] && !c.name.includes(" "));
  if (single) return { command: single, rest: argv.slice(1) };
  throw new CliError(`unknown command ${JSON.stringify(name)}; run petrel --help`, EXIT_USAGE);
}

function parseOptions(command: Command, rest: string[]): Values {
  let values: Values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { ...GLOBAL, ...command.options },
      strict: true,
      allowPositionals: false,
    }) as { values: Values });
  } catch (e) {
    throw new CliError(`petrel ${command.name}: ${(e as Error).message}`, EXIT_USAGE);
  }
  for (const k of command.required) {
    if (values[k] === undefined || values[k] === "")
      throw new CliError(`petrel ${command.name}: --${k} is required`, EXIT_USAGE);
  }
  return values;
}

/** The API base and operator token: --api, else 127.0.0.1 and the configured HTTP port. */
export function connection(
  values: Values,
  env: Record<string, string | undefined>,
): { api: string; token: string } {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
  const api = typeof values.api === "string" ? values.api : `http://127.0.0.1:${config.httpPort}`;
  if (!/^https?:\/\/[^/]+/.test(api))
    throw new CliError(`--api: expected http://host:port, got ${api}`, EXIT_USAGE);
  if (config.adminToken) return { api: api.replace(/\/+$/, ""), token: config.adminToken };
  const dataDir = resolve(config.dataDir);
  try {
    statSync(join(dataDir, SECRETS_FILE));
  } catch {
    throw new CliError(
      `no operator token: set PETREL_ADMIN_TOKEN, or run where PETREL_DATA_DIR (${dataDir}) holds the relay's ${SECRETS_FILE}`,
    );
  }
  let adminToken: string | undefined;
  try {
    ({ adminToken } = readServerSecrets(dataDir));
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  // The relay's token came from its configuration: the file holds none (issue 14 point 7).
  if (!adminToken)
    throw new CliError(
      `no operator token: the relay's PETREL_ADMIN_TOKEN comes from its configuration; set it here too`,
    );
  return { api: api.replace(/\/+$/, ""), token: adminToken };
}

async function call(io: Io, api: string, token: string, command: Command, values: Values): Promise<string> {
  const req = command.request(values);
  let res: Response;
  try {
    res = await io.fetch(api + req.path, {
      method: req.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(req.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (e as Error).message;
    throw new CliError(`cannot reach the relay API at ${api}: ${cause}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text.trim().slice(0, 500);
    try {
      const body = JSON.parse(text) as { code?: string; message?: string };
      if (body.code) detail = `${body.code}: ${body.message ?? ""}`;
    } catch {
      // not JSON: the raw text (trimmed) says it
    }
    throw new CliError(`petrel ${command.name}: HTTP ${res.status} ${detail}`.replace(/\s*\n\s*/g, " "));
  }
  if (command.text) return text.endsWith("\n") ? text : `${text}\n`;
  const answer = res.status === 204 || text === "" ? undefined : (JSON.parse(text) as unknown);
  const printed = command.output ? command.output(answer, values) : answer;
  return `${JSON.stringify(printed ?? {}, null, 2)}\n`;
}

/** Runs one command line; resolves with the exit code. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  io: Io,
): Promise<number> {
  try {
    if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
      io.out(usage());
      return argv.length === 0 ? EXIT_USAGE : 0;
    }
    const { command, rest } = findCommand(argv);
    const values = parseOptions(command, rest);
    const { api, token } = connection(values, env);
    io.out(await call(io, api, token, command, values));
    return 0;
  } catch (e) {
    const err =
      e instanceof CliError ? e : new CliError(`internal error: ${(e as Error).message ?? String(e)}`);
    io.err(`petrel: ${err.message.replace(/^petrel:?\s*/, "").replace(/\s*\n\s*/g, " ")}\n`);
    return err.exitCode;
  }
}
