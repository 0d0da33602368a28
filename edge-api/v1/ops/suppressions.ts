/**
 * The suppression list (D8): recipients not delivered to (S9) because they hard-bounced or were
 * added by hand. Members need "smtp.suppressions" (administrators and regular members hold it),
 * API keys the scope `suppressions:write`; an SMTP feature, so the account must be allowed to
 * send (C2). Errors: `invalid_request` (field `address`, `limit`, `cursor`, or a lift filter's
 * field), `not_found` when removing an address that is not listed.
 *
 * Each hard-bounce entry carries the reply that caused it and the classifier's class and rule
 * (issue 15), and `POST /suppressions/lift` removes the entries a filter matches (class, rule,
 * source, since, until; `dryRun` counts only), so wrong suppressions go in one call.
 */
import { z } from "@hono/zod-openapi";
import { decodeCursor, normalizeAddress, SUPPRESSION_SOURCES } from "../../../actors/account/suppression.ts";
import { REASON_CLASSES } from "../../../shared/bounce/rules.ts";
import { ApiError } from "../../errors.ts";
import { accountOp } from "../op.ts";

const tag = "suppressions";
const requirement = {
  who: "account",
  member: "smtp.suppressions",
  scope: "suppressions:write",
  plan: true,
} as const;

const Address = z
  .string()
  .trim()
  .min(3)
  .max(254)
  .refine((a) => normalizeAddress(a) !== undefined, "expected a mailbox such as user@example.com")
  .openapi({ example: "user@example.com" });

export const SuppressionSchema = z
  .object({
    address: z.string().openapi({ description: "local part as given, domain lower-cased" }),
    reason: z
      .string()
      .openapi({ description: "the bounce reason (e.g. unknown_user) or the text given when added" }),
    source: z.enum(SUPPRESSION_SOURCES),
    suppressedAt: z.number().int().openapi({ description: "epoch milliseconds" }),
    recipientId: z.string().optional().openapi({ description: "the recipient whose hard bounce added it" }),
    remoteReply: z
      .string()
      .optional()
      .openapi({ description: "the remote server's reply (or DSN diagnostic) that caused it, verbatim" }),
    class: z.enum(REASON_CLASSES).optional().openapi({ description: "the reason class the classifier gave" }),
    rule: z.string().optional().openapi({ description: "id of the classification rule that decided" }),
    explanation: z.string().optional().openapi({
      description: "the decision in words",
      example: "Hard bounce — unknown user (the mailbox does not exist)",
    }),
  })
  .openapi("Suppression");

export const SuppressionList = z
  .object({
    suppressions: z.array(SuppressionSchema),
    next: z.string().optional().openapi({ description: "cursor of the next page; absent on the last" }),
  })
  .openapi("SuppressionList");

export const AddSuppressionBody = z
  .object({ address: Address, reason: z.string().trim().min(1).max(200).optional() })
  .openapi("AddSuppression");

export const SuppressionQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z
    .string()
    .min(1)
    .max(800)
    .refine((v) => decodeCursor(v) !== undefined, "not a cursor of this list")
    .optional(),
});

/** An instant in a JSON body: ms since the epoch, or ISO 8601 with an offset or Z. */
const Instant = z
  .union([z.number().int().min(0), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))])
  .openapi({
    description: "ms since the epoch, or ISO 8601 with an offset or Z",
    example: "2026-12-01T00:00:00Z",
  });

export const LiftBody = z
  .object({
    class: z.enum(REASON_CLASSES).optional().openapi({ description: "entries of this reason class" }),
    rule: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .openapi({ description: "entries decided by this rule id" }),
    source: z.enum(SUPPRESSION_SOURCES).optional(),
    since: Instant.optional().openapi({ description: "suppressed at or after" }),
    until: Instant.optional().openapi({ description: "suppressed before" }),
    dryRun: z.boolean().optional().openapi({ description: "count the matching entries, remove none" }),
  })
  .refine(
    (b) => [b.class, b.rule, b.source, b.since, b.until].some((v) => v !== undefined),
    "give at least one of class, rule, source, since, until",
  )
  .openapi("LiftSuppressions");

export const LiftResult = z
  .object({
    lifted: z.number().int().openapi({ description: "entries removed (matched, with dryRun)" }),
    dryRun: z.boolean(),
  })
  .openapi("LiftedSuppressions");

const AddressParam = z.object({
  address: Address.openapi({ param: { name: "address", in: "path" }, example: "user@example.com" }),
});

function query(url: string): z.output<typeof SuppressionQuery> {
  const q = new URL(url).searchParams;
  const r = SuppressionQuery.safeParse({
    ...(q.has("limit") ? { limit: q.get("limit") } : {}),
    ...(q.has("cursor") ? { cursor: q.get("cursor") } : {}),
  });
  if (r.success) return r.data;
  const field = r.error.issues[0]?.path.join(".") || "query";
  throw new ApiError(400, "invalid_request", `${field}: ${r.error.issues[0]?.message}`, field);
}

export const suppressionOps = [
  accountOp({
    id: "suppressions.list",
    tag,
    summary:
      "Suppressed recipients, newest first (D8). Query: limit (1–1000, default 100), cursor (the `next` of the previous page)",
    method: "get",
    path: "/suppressions",
    status: 200,
    response: SuppressionList,
    query: [
      {
        name: "limit",
        in: "query",
        description: "entries per page",
        required: false,
        schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
      },
      {
        name: "cursor",
        in: "query",
        description: "the `next` of the previous page",
        required: false,
        schema: { type: "string" },
      },
    ],
    requirement,
    admin: true,
    run: async ({ c, control, accountId }) => {
      const q = query(c.req.url);
      return control.accounts.listSuppressions(accountId, {
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
    },
  }),
  accountOp({
    id: "suppressions.add",
    tag,
    summary:
      "Suppress a recipient: it is accepted at SMTP but not delivered (S9). Idempotent: 201 when added, 200 with the existing entry when already listed",
    method: "post",
    path: "/suppressions",
    body: AddSuppressionBody,
    status: 201,
    response: SuppressionSchema,
    requirement,
    admin: true,
    run: async ({ c, control, accountId, body }) => {
      const r = await control.accounts.addSuppression(accountId, {
        address: body.address,
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
      });
      return r.created ? r.suppression : c.json(r.suppression, 200);
    },
  }),
  accountOp({
    id: "suppressions.lift",
    tag,
    summary:
      "Lift suppressions in bulk (issue 15): remove every entry of the account that matches all the given criteria — class, rule, source, since, until (at least one) → { lifted, dryRun }",
    method: "post",
    path: "/suppressions/lift",
    body: LiftBody,
    status: 200,
    response: LiftResult,
    requirement,
    admin: true,
    run: async ({ control, accountId, body }) =>
      control.accounts.liftSuppressions(accountId, {
        ...(body.class !== undefined ? { class: body.class } : {}),
        ...(body.rule !== undefined ? { rule: body.rule } : {}),
        ...(body.source !== undefined ? { source: body.source } : {}),
        ...(body.since !== undefined ? { since: body.since } : {}),
        ...(body.until !== undefined ? { until: body.until } : {}),
        ...(body.dryRun !== undefined ? { dryRun: body.dryRun } : {}),
      }),
  }),
  accountOp({
    id: "suppressions.remove",
    tag,
    summary: "Remove a recipient from the suppression list: it is delivered again",
    method: "delete",
    path: "/suppressions/{address}",
    params: AddressParam,
    status: 204,
    requirement,
    admin: true,
    run: async ({ control, accountId, params }) => {
      const gone = await control.accounts.removeSuppression(accountId, params.address);
      if (!gone) throw new ApiError(404, "not_found", `${params.address} is not on the suppression list`);
    },
  }),
];
