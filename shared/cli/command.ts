/** The shape of one CLI command (shared/cli/commands.ts lists them). */
import type { ParseArgsConfig } from "node:util";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface ApiRequest {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
}

/** Calls the relay's operator API: the answer's JSON (undefined for a 204); an HTTP error throws. */
export type Api = (req: ApiRequest) => Promise<unknown>;

interface CommandBase {
  /** Words of the command line: `account create`. */
  name: string;
  summary: string;
  options: Options;
  required: string[];
  /** Checks and normalizes the parsed options; throws OptionError (a usage error) when one is wrong. */
  prepare?(v: Values): Values;
  /** The printed JSON, from the API's answer (undefined for a 204); default: the answer. */
  output?(res: unknown, v: Values): unknown;
  /** Prints the answer as text (zone files). */
  text?: boolean;
}

/** A command is one API request, or a few in a row (`init`): `run` returns what is printed. */
export type Command = CommandBase &
  (
    | { request(v: Values): ApiRequest; run?: never }
    | { run(v: Values, api: Api, base: string): Promise<unknown>; request?: never }
  );

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

/** A wrong option value: the CLI prints `petrel <command>: <message>` and exits with the usage code. */
export class OptionError extends Error {
  override readonly name = "OptionError";
}

/** Option kinds, as node:util's parseArgs takes them. */
export const str = { type: "string" } as const;
export const many = { type: "string", multiple: true } as const;
export const flag = { type: "boolean" } as const;

/** The operator routes of one account: `/v1/admin/accounts/{accountId}`. */
export const accountPath = (account: unknown) => `/v1/admin/accounts/${encodeURIComponent(String(account))}`;

/** `path?query` of the string values given (each of a list), in order; `path` alone when none is. */
export function withQuery(path: string, params: [name: string, value: unknown][]): string {
  const q = new URLSearchParams();
  for (const [name, value] of params) {
    for (const x of Array.isArray(value) ? value : [value]) if (typeof x === "string") q.append(name, x);
  }
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}
