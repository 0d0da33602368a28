/**
 * The zod schemas of /v1: they validate the input (through @hono/zod-openapi's validators) and
 * describe input and output in /openapi.json, so the document cannot drift from the code.
 */
import { z } from "@hono/zod-openapi";
import {
  ACCOUNT_STATUSES,
  DKIM_ALGORITHMS,
  DNS_RECORD_KINDS,
  DNS_RECORD_STATUSES,
  PERMISSIONS,
  ROLES,
  SCOPES,
  SENDING_DOMAIN_STATUSES,
} from "../../shared/model/account/protocol.ts";
import { QUOTA_BANDS, SMTP_ENCRYPTIONS } from "../../shared/model/account/views.ts";

// — building blocks —

export const Email = z.email().max(254).toLowerCase();
/** Loosely checked here; shared/domains normalises it (IDN → A-labels) and names any problem. */
const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .min(3)
  .max(253)
  .regex(/^[^\s/@:]+\.[^\s/@:]+$/, "expected a domain name such as example.com");
const TimeZone = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "expected an IANA time zone such as America/Toronto");
const Slug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, dot, dash and underscore");
const Password = z.string().min(10, "at least 10 characters").max(200);
const Millis = z.number().int().openapi({ description: "epoch milliseconds" });

// — path parameters —

export const AccountParam = z.object({
  accountId: Slug.openapi({ param: { name: "accountId", in: "path" }, example: "acme" }),
});
export const EmailParam = z.object({ email: Email.openapi({ param: { name: "email", in: "path" } }) });
export const UsernameParam = z.object({
  username: Slug.openapi({ param: { name: "username", in: "path" } }),
});
export const DomainParam = z.object({
  domain: Domain.openapi({ param: { name: "domain", in: "path" }, example: "example.com" }),
});
export const KeyIdParam = z.object({ id: Slug.openapi({ param: { name: "id", in: "path" } }) });

// — request bodies —

export const CreateAccountBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    plan: z.string().min(1).max(64),
    timezone: TimeZone.optional(),
    accountId: Slug.optional().openapi({ description: "chosen id; generated when absent" }),
  })
  .openapi("CreateAccount");

export const ChangePlanBody = z.object({ plan: z.string().min(1).max(64) }).openapi("ChangePlan");

const Role = z.enum(ROLES);
const Permissions = z.array(z.enum(PERMISSIONS)).max(PERMISSIONS.length);

export const AddMemberBody = z
  .object({
    email: Email,
    role: Role,
    permissions: Permissions.optional().openapi({ description: "custom members only" }),
    password: Password.optional().openapi({ description: "generated and shown once when absent" }),
  })
  .refine((b) => b.role === "custom" || !b.permissions?.length, {
    path: ["permissions"],
    message: "permissions are given to custom members only",
  })
  .openapi("AddMember");

export const UpdateMemberBody = z
  .object({ role: Role.optional(), permissions: Permissions.optional(), password: Password.optional() })
  .refine((b) => b.role !== undefined || b.permissions !== undefined || b.password !== undefined, {
    path: ["role"],
    message: "nothing to change: give role, permissions or password",
  })
  .openapi("UpdateMember");

export const CreateSmtpUserBody = z
  .object({ name: z.string().trim().min(1).max(100).optional() })
  .openapi("CreateSmtpUser");

export const AddDomainBody = z.object({ domain: Domain }).openapi("AddDomain");

export const VerifyDomainBody = z
  .object({
    trust: z.boolean().optional().openapi({ description: "operator only: verified without DNS, logged" }),
  })
  .openapi("VerifyDomain");

export const CreateApiKeyBody = z
  .object({
    label: z.string().trim().min(1).max(100).optional(),
    scopes: z.array(z.enum(SCOPES)).max(SCOPES.length).default([]),
  })
  .openapi("CreateApiKey");

export const SignInBody = z
  .object({
    email: Email,
    password: z.string().min(1).max(200),
    accountId: Slug.optional().openapi({ description: "when the email belongs to several accounts" }),
  })
  .openapi("SignIn");

// — responses —

export const ErrorSchema = z
  .object({ code: z.string(), message: z.string(), field: z.string().optional() })
  .openapi("Error");

export const PlanSchema = z
  .object({
    name: z.string(),
    monthlyRecipients: z.number().int(),
    priceCents: z.number().int(),
    currency: z.string(),
  })
  .openapi("Plan");
export const PlanList = z.object({ plans: z.array(PlanSchema) }).openapi("PlanList");

export const BillingPeriodSchema = z
  .object({
    start: Millis,
    end: Millis,
    plan: z.string(),
    quota: z.number().int(),
    used: z.number().int(),
    priceCents: z.number().int(),
    currency: z.string(),
  })
  .openapi("BillingPeriod");
export const BillingHistory = z.object({ periods: z.array(BillingPeriodSchema) }).openapi("BillingHistory");

export const QuotaSchema = z
  .object({
    used: z.number().int(),
    limit: z.number().int(),
    percent: z.number(),
    band: z.enum(QUOTA_BANDS),
    periodStart: Millis,
    periodEnd: Millis,
  })
  .openapi("Quota");

export const AccountSchema = z
  .object({
    accountId: z.string(),
    name: z.string(),
    status: z.enum(ACCOUNT_STATUSES),
    sendingAllowed: z.boolean(),
    timezone: z.string(),
    createdAt: Millis,
    plan: z.string(),
    pendingPlan: z.string().optional(),
    anchorDay: z.number().int(),
    period: BillingPeriodSchema,
    quota: QuotaSchema,
    cancelAt: Millis.optional(),
    eraseAt: Millis.optional(),
  })
  .openapi("Account");

export const PlanChangeSchema = z
  .object({
    plan: z.string(),
    effective: z.enum(["now", "next_period"]),
    effectiveAt: Millis,
    account: AccountSchema,
  })
  .openapi("PlanChange");
export const CancellationSchema = z.object({ cancelAt: Millis, eraseAt: Millis }).openapi("Cancellation");

export const MemberSchema = z
  .object({
    email: z.string(),
    role: Role,
    permissions: Permissions,
    effectivePermissions: Permissions,
    hasPassword: z.boolean(),
    createdAt: Millis,
    password: z.string().optional().openapi({ description: "generated password, shown once on creation" }),
  })
  .openapi("Member");
export const MemberList = z.object({ members: z.array(MemberSchema) }).openapi("MemberList");

export const ConnectionSchema = z
  .object({
    server: z
      .string()
      .optional()
      .openapi({ description: "PETREL_HOSTNAME; absent when the operator has not configured it" }),
    ports: z.array(z.object({ port: z.number().int(), encryption: z.enum(SMTP_ENCRYPTIONS) })),
    certificate: z
      .object({
        sha256: z.string().openapi({
          description:
            "SHA-256 fingerprint of the SMTP certificate, colon-separated hex (as openssl prints it)",
          example: "30:19:41:DE:…:8B:9D",
        }),
        selfSigned: z
          .boolean()
          .openapi({ description: "generated by Petrel (no configured pair): pin it, no CA vouches for it" }),
      })
      .optional(),
  })
  .openapi("SmtpConnection");
export const SmtpUserSchema = z
  .object({
    username: z.string(),
    name: z.string(),
    createdAt: Millis,
    connection: ConnectionSchema.optional(),
  })
  .openapi("SmtpUser");
export const SmtpUserList = z.object({ smtpUsers: z.array(SmtpUserSchema) }).openapi("SmtpUserList");
export const SmtpCredentialsSchema = z
  .object({ username: z.string(), password: z.string().openapi({ description: "shown once" }) })
  .openapi("SmtpCredentials");
export const CreatedSmtpUserSchema = SmtpUserSchema.extend(SmtpCredentialsSchema.shape).openapi(
  "CreatedSmtpUser",
);

export const DomainRecordSchema = z
  .object({
    kind: z.enum(DNS_RECORD_KINDS),
    name: z.string(),
    type: z.literal("CNAME"),
    value: z.string(),
    status: z.enum(DNS_RECORD_STATUSES),
    detail: z.string().optional(),
    checkedAt: Millis.optional(),
  })
  .openapi("DomainRecord");
export const DomainSchema = z
  .object({
    domainId: z.string(),
    domain: z.string(),
    addedAt: Millis,
    status: z.enum(SENDING_DOMAIN_STATUSES),
    trusted: z.boolean(),
    records: z.array(DomainRecordSchema),
    dkim: z.array(
      z.object({
        selector: z.string(),
        algorithm: z.enum(DKIM_ALGORITHMS),
        publicKey: z.string(),
      }),
    ),
    activeSelector: z.string(),
    returnPathHost: z.string(),
    verifiedAt: Millis.optional(),
    lastCheckAt: Millis.optional(),
  })
  .openapi("Domain");
export const DomainList = z.object({ domains: z.array(DomainSchema) }).openapi("DomainList");

export const ApiKeySchema = z
  .object({
    id: z.string(),
    label: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: Millis,
    revokedAt: Millis.optional(),
  })
  .openapi("ApiKey");
export const ApiKeyList = z.object({ apiKeys: z.array(ApiKeySchema) }).openapi("ApiKeyList");
export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: "the whole key `pk_...`, shown once" }),
}).openapi("CreatedApiKey");

export const SessionSchema = z
  .object({
    kind: z.enum(["member", "apiKey"]),
    accountId: z.string(),
    email: z.string().optional(),
    role: Role.optional(),
    permissions: Permissions.optional(),
    keyId: z.string().optional(),
    scopes: z.array(z.enum(SCOPES)).optional(),
    expiresAt: Millis.optional(),
  })
  .openapi("Session");
