/**
 * The query strings of the read routes (activity, stats) parsed into the analytics queries' inputs:
 * shared by the /v1 operations (ops/analytics.ts) and the edge entry (edge.ts). Runtime-neutral.
 * Times are ISO 8601 (with offset or Z) or ms since the epoch; a bad value is a 400 naming the field.
 */
import { z } from "zod";
import { ACTIVITY_VIEWS, type ActivityFilter } from "../../shared/analytics/activity.ts";
import { decodeCursor } from "../../shared/analytics/cursor.ts";
import {
  customPeriod,
  PERIOD_PRESETS,
  type Period,
  PeriodError,
  presetPeriod,
} from "../../shared/analytics/period.ts";
import { SERIES_VIEWS, type SeriesView } from "../../shared/analytics/queries.ts";
import { DAY_MS } from "../../shared/analytics/service.ts";
import { RecipientStatus } from "../../shared/model/status.ts";
import { ApiError } from "../errors.ts";

const instant = z.union([
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);
const INSTANT = "ISO 8601 with offset or Z (`2026-11-02T00:00:00-05:00`), or ms since the epoch";

export const ActivityQuery = z.object({
  view: z
    .enum(ACTIVITY_VIEWS)
    .default("recipients")
    .describe(
      "`recipients` (default): one row per recipient with its current status (its latest event), newest first; " +
        "a recipient whose `Delivered` was followed by a bounce has two rows, the Delivered row and the bounce row. " +
        "`events`: one row per status event (every status change). Filters apply to the status each row shows.",
    ),
  recipient: z
    .string()
    .min(1)
    .max(320)
    .optional()
    .describe("Recipient address, whole and exact in any case (`Ann@Example.org` finds `ann@example.org`)."),
  sender: z
    .string()
    .min(1)
    .max(320)
    .optional()
    .describe("Sender (envelope from) address, whole and exact in any case."),
  subject: z.string().min(1).max(998).optional().describe("Part of the subject, any case."),
  /** Comma list or repeated. */
  status: z
    .array(RecipientStatus)
    .optional()
    .describe("Only these statuses: a comma list (`Deferred,Rejected`) or the parameter repeated."),
  messageId: z
    .string()
    .min(1)
    .max(998)
    .optional()
    .describe("Message-ID header, exact, with its angle brackets (`<id@host>`)."),
  from: instant.optional().describe(`Start of the period, inclusive: ${INSTANT}. Default: \`to\` − 30 days.`),
  to: instant.optional().describe(`End of the period, exclusive: ${INSTANT}. Default: now.`),
  cursor: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe("`nextCursor` of the previous page, to read the next one (search only)."),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(50)
    .describe("Rows per page, 1–1000 (search only)."),
});

/** S14's switch: test recipients left out of Statistics (default) or counted. */
export const TEST_RECIPIENTS = ["exclude", "include"] as const;

export const StatsQuery = z.object({
  period: z
    .enum(PERIOD_PRESETS)
    .default("7d")
    .describe(
      "Preset period in the account's time zone, each ending at the end of today (ignored when from+to are given).",
    ),
  from: instant
    .optional()
    .describe(`Custom range start, inclusive, with \`to\` (at most 366 days): ${INSTANT}.`),
  to: instant.optional().describe(`Custom range end, exclusive, with \`from\`: ${INSTANT}.`),
  view: z
    .enum(SERIES_VIEWS)
    .default("new")
    .describe("Time series: figures per bucket (`new`) or running totals (`cumulative`)."),
  tests: z
    .enum(TEST_RECIPIENTS)
    .default("exclude")
    .describe(
      "Test (sandbox) recipients: `exclude` (default) leaves them out of every figure and counts them in " +
        "`testRecipients.count`; `include` counts them like the others (S14).",
    ),
});

/**
 * An OpenAPI query parameter object. Declared here, not in op.ts (which imports it): this file is
 * also loaded by the edge entry, and op.ts is Node-side.
 */
export interface QueryParameter {
  name: string;
  in: "query";
  description: string;
  required: boolean;
  schema: Record<string, unknown>;
  style?: "form";
  explode?: boolean;
}

/** The query parameters of a query schema, for the OpenAPI document (edge-api/v1/op.ts `query`). */
export function queryParameters(
  schema: z.ZodObject<z.ZodRawShape>,
  only?: readonly string[],
): QueryParameter[] {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {})
    .filter(([name]) => !only || only.includes(name))
    .map(([name, prop]) => {
      const { description, ...propSchema } = prop;
      return {
        name,
        in: "query" as const,
        description: String(description ?? ""),
        required: json.required?.includes(name) === true && !("default" in prop),
        schema: propSchema,
        ...(propSchema.type === "array" ? { style: "form" as const, explode: true } : {}),
      };
    });
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join(".") || undefined;
  throw new ApiError(400, "invalid_request", `${field ?? "query"}: ${issue.message}`, field);
}

/** `?status=Deferred,Rejected&status=Pending` → one list. */
function queryObject(url: URL): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(k);
    o[k] = k === "status" ? all.flatMap((v) => v.split(",")).filter(Boolean) : all.at(-1);
  }
  return o;
}

/** A2: the last 30 days unless `from`/`to` say otherwise. */
export function activityFilter(url: URL, now: number): ActivityFilter {
  const q = parse(ActivityQuery, queryObject(url));
  // Decoded here too, so that both surfaces (the /v1 app and the edge entry) refuse it before a query.
  if (q.cursor !== undefined) decodeCursor(q.cursor, q.view);
  const to = q.to ?? now + 1;
  const from = q.from ?? to - 30 * DAY_MS;
  if (!(to > from)) throw new ApiError(400, "invalid_request", "to: must be after from", "to");
  return {
    from,
    to,
    limit: q.limit,
    view: q.view,
    ...(q.recipient !== undefined ? { recipient: q.recipient } : {}),
    ...(q.sender !== undefined ? { sender: q.sender } : {}),
    ...(q.subject !== undefined ? { subject: q.subject } : {}),
    ...(q.status !== undefined ? { status: q.status } : {}),
    ...(q.messageId !== undefined ? { messageId: q.messageId } : {}),
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
  };
}

/** A4: a preset period (default Last 7 days, seed 004) or `from`+`to` for a custom range. */
export function statsPeriod(
  url: URL,
  now: number,
  timezone: string,
): { period: Period; view: SeriesView; includeTests: boolean } {
  const q = parse(StatsQuery, queryObject(url));
  const includeTests = q.tests === "include";
  try {
    if (q.from !== undefined || q.to !== undefined) {
      if (q.from === undefined || q.to === undefined)
        throw new ApiError(
          400,
          "invalid_request",
          "from and to go together",
          q.from === undefined ? "from" : "to",
        );
      if (q.to - q.from > 366 * DAY_MS)
        throw new ApiError(400, "invalid_request", "to: at most 366 days after from", "to");
      return { period: customPeriod(q.from, q.to, timezone), view: q.view, includeTests };
    }
    return { period: presetPeriod(q.period, now, timezone), view: q.view, includeTests };
  } catch (e) {
    if (e instanceof PeriodError) throw new ApiError(400, "invalid_request", e.message, e.field);
    throw e;
  }
}
