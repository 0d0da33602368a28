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
