/** The shape of one CLI command (shared/cli/commands.ts lists them). */
import type { ParseArgsConfig } from "node:util";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface ApiRequest {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
}

export interface Command {
  /** Words of the command line: `account create`. */
  name: string;
  summary: string;
  options: Options;
  required: string[];
  request(v: Values): ApiRequest;
  /** The printed JSON, from the API's answer (undefined for a 204); default: the answer. */
  output?(res: unknown, v: Values): unknown;
  /** Prints the answer as text (zone files). */
  text?: boolean;
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
