/**
 * The operator CLI `petrel` (O4): parses the command line (node:util parseArgs), calls the
 * running relay's operator API with the operator token, prints JSON on stdout; on failure one
 * line on stderr and a non-zero exit code (2 usage, 1 anything else).
 */
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config/load.ts";
import { PERMISSION_LABELS, ROLE_HINTS } from "../model/account/permissions.ts";
import { PERMISSIONS, ROLES, SCOPES } from "../model/account/protocol.ts";
import { readServerSecrets, SECRETS_FILE } from "../security/secrets.ts";
import { type Api, CliError, EXIT_USAGE, OptionError, type Options } from "./command.ts";
import { COMMANDS, type Command, STATUS_WORDS, type Values } from "./commands.ts";

export { CliError, EXIT_FAILURE, EXIT_USAGE } from "./command.ts";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  fetch: typeof fetch;
}

/** Options every command takes, before or after the command's words (O4). */
const GLOBAL = { api: { type: "string" }, help: { type: "boolean", short: "h" } } as const satisfies Options;

export function usage(): string {
  const lines = COMMANDS.map((c) => {
    const opts = Object.entries(c.options).map(([k, o]) => {
      const arg = o.type === "boolean" ? `--${k}` : `--${k} ${k.toUpperCase()}${o.multiple ? " ..." : ""}`;
      return c.required.includes(k) ? arg : `[${arg}]`;
    });
    return `  petrel ${[c.name, ...opts].join(" ")}\n      ${c.summary}`;
  });
  const width = Math.max(...PERMISSIONS.map((p) => p.length));
  return [
    "usage: petrel [--api http://host:port] <command> [options]",
    "Global options go before or after the command. The operator token comes from PETREL_ADMIN_TOKEN",
    "or the data dir's secrets file; --api defaults to http://127.0.0.1:<PETREL_HTTP_PORT>.",
    "",
    "First run: petrel init --email you@example.com",
    "",
    ...lines,
    "",
    `Roles (member add --role): ${ROLES.map((r) => `${r} (${ROLE_HINTS[r].replace(" below", "")})`).join(", ")}.`,
    "Permissions (member add --role custom --permission P ...):",
    ...PERMISSIONS.map((p) => `  ${p.padEnd(width)}  ${PERMISSION_LABELS[p]}`),
    `API key scopes (apikey create --scope S ...): ${SCOPES.join(", ")}.`,
    `Statuses (activity --status S ...; any case, by name or label): ${STATUS_WORDS}.`,
    "",
  ].join("\n");
}

/** Where the global options are in argv: option words with their values, by index. */
function globalIndexes(argv: string[]): Set<number> {
  const at = new Set<number>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") break;
    const [flagName] = arg.split("=", 1) as [string];
    const entry = Object.entries(GLOBAL).find(
      ([k, o]) => flagName === `--${k}` || ("short" in o && arg === `-${o.short}`),
    );
    if (!entry) continue;
    at.add(i);
    if (entry[1].type === "string" && !arg.includes("=") && i + 1 < argv.length) at.add(++i);
  }
  return at;
}

/**
 * The command is the first two words that are not global options (`account create`), or one
 * (`quota`); its options, and the global ones, are everything else, in any order.
 */
function findCommand(argv: string[]): { command: Command; rest: string[] } {
  const globals = globalIndexes(argv);
  const words: number[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    if (globals.has(i)) continue;
    if ((argv[i] as string).startsWith("-")) break;
    words.push(i);
  }
  const without = (n: number) => argv.filter((_, i) => !words.slice(0, n).includes(i));
  const [first, second] = words.map((i) => argv[i] as string);
  const name = [first, second].filter((w) => w !== undefined).join(" ");
  const command = second !== undefined ? COMMANDS.find((c) => c.name === name) : undefined;
  if (command) return { command, rest: without(2) };
  const single = COMMANDS.find((c) => c.name === first && !c.name.includes(" "));
  if (single) return { command: single, rest: without(1) };
  if (first === undefined) throw new CliError("no command given; run petrel --help", EXIT_USAGE);
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
  if (!command.prepare) return values;
  try {
    return command.prepare(values);
  } catch (e) {
    if (e instanceof OptionError) throw new CliError(`petrel ${command.name}: ${e.message}`, EXIT_USAGE);
    throw e;
  }
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

/** The operator API of the relay at `api`, as `command` calls it: JSON answers, one-line errors. */
function operatorApi(io: Io, api: string, token: string, command: Command): Api {
  return async (req) => {
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
    if (command.text) return text;
    return res.status === 204 || text === "" ? undefined : (JSON.parse(text) as unknown);
  };
}

/** What the command prints: its API answer(s) as JSON, or as text. */
async function call(io: Io, api: string, token: string, command: Command, values: Values): Promise<string> {
  const request = operatorApi(io, api, token, command);
  const answer = command.run
    ? await command.run(values, request, api)
    : await request(command.request(values));
  if (command.text) {
    const text = String(answer ?? "");
    return text.endsWith("\n") ? text : `${text}\n`;
  }
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
