/**
 * The API's one error catalogue and its one mapping to HTTP (STYLE "one mapping per surface"):
 * every error leaves the API as JSON `{ code, message }` (plus `field` for validation errors)
 * with a stable `code`. Account errors come from the account service (actors/account/errors.ts)
 * with the actor's codes; the API's own conditions are `ApiError`s.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { ActorSystemStoppedError, AskTimeoutError } from "../actors/errors.ts";
import { CursorError } from "../shared/analytics/cursor.ts";
import { ACCOUNT_ERROR_CODES, type AccountErrorCode } from "../shared/model/account/protocol.ts";

/** Codes the API itself produces, besides the account codes. */
export const API_ERROR_CODES = [
  "invalid_request",
  "unauthenticated",
  "forbidden",
  "plan_inactive",
  "not_found",
  "unsupported_media_type",
  "unavailable",
  "internal",
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];
export type ErrorCode = ApiErrorCode | AccountErrorCode;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** The offending input field, for `invalid_request` from validation (dotted path). */
  field?: string;
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Each account error code's HTTP status: a Record over the closed set, so a new code must be placed. */
export const ACCOUNT_ERROR_STATUS: Record<AccountErrorCode, ContentfulStatusCode> = {
  account_not_found: 404,
  account_exists: 409,
  account_inactive: 403,
  member_exists: 409,
  member_not_found: 404,
  last_admin: 409,
  smtp_user_exists: 409,
  smtp_user_not_found: 404,
  domain_exists: 409,
  domain_not_found: 404,
  api_key_not_found: 404,
  plan_unchanged: 409,
  // The plan named in the body is not in the catalog: an input error, not a missing resource.
  plan_not_found: 400,
  invalid_request: 400,
};

/** A zod failure as an `invalid_request` naming the first offending field. */
export function validationError(error: ZodError, where: string): ApiError {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join(".") ?? "";
  const field = path === "" ? where : path;
  const message = issue ? `${field}: ${issue.message}` : `invalid ${where}`;
  return new ApiError(400, "invalid_request", message, field);
}

/**
 * The account service's `AccountError` and the domain verifier's `DomainCheckError` (whose codes
 * are account codes), recognised by shape (name + a code of the catalogue) so that this
 * runtime-neutral module needs no value import from Node-side code.
 */
function accountErrorCode(err: unknown): AccountErrorCode | undefined {
  if (!(err instanceof Error) || (err.name !== "AccountError" && err.name !== "DomainCheckError"))
    return undefined;
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === "string" && (ACCOUNT_ERROR_CODES as readonly string[]).includes(code)
    ? (code as AccountErrorCode)
    : undefined;
}

/** The one mapping: any thrown value → status and body. Unknown errors are 500 `internal`. */
export function errorResponse(err: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  if (err instanceof ApiError) {
    const body: ErrorBody = { code: err.code, message: err.message };
    if (err.field !== undefined) body.field = err.field;
    return { status: err.status, body };
  }
  // An activity cursor that does not decode (shared/analytics/cursor.ts): the caller's input.
  if (err instanceof CursorError)
    return { status: 400, body: { code: "invalid_request", message: err.message, field: err.field } };
  const accountCode = accountErrorCode(err);
  if (accountCode)
    return {
      status: ACCOUNT_ERROR_STATUS[accountCode],
      body: { code: accountCode, message: (err as Error).message },
    };
  // shared/domains: a name that cannot be a sending domain (IDN, provider zone, label rules).
  if (err instanceof Error && err.name === "DomainNameError")
    return { status: 400, body: { code: "invalid_request", message: err.message, field: "domain" } };
  if (err instanceof HTTPException) {
    // Raised by Hono's validators: malformed JSON (400), wrong media type (415).
    if (err.status === 415)
      return { status: 415, body: { code: "unsupported_media_type", message: "expected application/json" } };
    if (err.status === 401) return { status: 401, body: { code: "unauthenticated", message: err.message } };
    if (err.status === 403) return { status: 403, body: { code: "forbidden", message: err.message } };
    if (err.status === 404) return { status: 404, body: { code: "not_found", message: err.message } };
    if (err.status < 500)
      return {
        status: 400,
        body: { code: "invalid_request", message: err.message || "invalid request", field: "body" },
      };
  }
  if (err instanceof AskTimeoutError || err instanceof ActorSystemStoppedError)
    return { status: 503, body: { code: "unavailable", message: err.message } };
  return {
    status: 500,
    body: {
      code: "internal",
      message: `internal error: ${err instanceof Error ? err.message : String(err)}`,
    },
  };
}
