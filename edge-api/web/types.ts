/**
 * The /v1 JSON the pages read, as far as they read it. The API's zod schemas are the contract;
 * these are the fields the pages use.
 */

export type Band = "blue" | "orange" | "red";

export interface Quota {
  used: number;
  limit: number;
  percent: number;
  band: Band;
  periodStart: number;
  periodEnd: number;
}

export interface Me {
  kind: "member" | "apiKey";
  accountId: string;
  email?: string;
  role?: "admin" | "regular" | "custom";
  permissions?: string[];
}

export interface Account {
  accountId: string;
  name: string;
  status: "active" | "suspended" | "cancelled";
  sendingAllowed: boolean;
  timezone: string;
  plan: string;
}

/** A1: one row of GET /v1/activity (and of `recent` in GET /v1/stats). */
export interface ActivityRow {
  eventId: string;
  ts: number;
  /** ISO 8601 in the account's time zone. */
  time: string;
  status: string;
  recipient: string;
  subject: string;
  sender: string;
  reason: string;
  messageId: string;
  smtpUser: string;
  sendingDomain: string;
  remoteReply: string;
  mxHost: string;
  isTest: boolean;
}

export interface ActivityPage {
  rows: ActivityRow[];
  nextCursor?: string;
}

/** A4: one KPI with its change against the previous period (null: no previous data). */
export interface Kpi {
  value: number;
  previous: number;
  change: number | null;
}

export interface SeriesPoint {
  ts: number;
  time: string;
  recipients: number;
  delivered: number;
  softBounces: number;
  hardBounces: number;
}

export interface DomainFigures {
  domain: string;
  recipients: number;
  delivered: number;
  bounces: number;
  softBounces: number;
  hardBounces: number;
}

/** GET /v1/stats (A4–A6). */
export interface Stats {
  period: { from: string; to: string; timezone: string };
  previous: { from: string; to: string };
  kpis: { totalRecipients: Kpi; deliveryRate: Kpi; softBounceRate: Kpi; hardBounceRate: Kpi };
  series: { bucket: "hour" | "day"; view: "new" | "cumulative"; points: SeriesPoint[] };
  domains: DomainFigures[];
  recent: ActivityRow[];
}

// — Domains, Users, Pricing, Team pages (C2–C4, C6) —

/** C4: one of the three CNAME records and its verification state. */
export interface DomainRecord {
  kind: "dkim1" | "dkim2" | "return_path";
  name: string;
  type: "CNAME";
  value: string;
  status: "pending" | "verified" | "missing" | "wrong";
  detail?: string;
  checkedAt?: number;
}

/** C4: GET /v1/domains/{domain}. */
export interface SendingDomain {
  domainId: string;
  domain: string;
  addedAt: number;
  status: "pending" | "verified" | "failed";
  trusted: boolean;
  records: DomainRecord[];
  verifiedAt?: number;
  lastCheckAt?: number;
}

/** C3: GET /v1/smtp-users/{username}. */
export interface SmtpUser {
  username: string;
  name: string;
  createdAt: number;
  connection?: { server: string; ports: { port: number; encryption: "STARTTLS" | "TLS" }[] };
}

/** C6: one plan of GET /v1/plans. */
export interface Plan {
  name: string;
  monthlyRecipients: number;
  priceCents: number;
  currency: string;
}

/** C6: one period of GET /v1/account/billing (and the account's current period). */
export interface BillingPeriod {
  start: number;
  end: number;
  plan: string;
  quota: number;
  used: number;
  priceCents: number;
  currency: string;
}

/** C1/C6: GET /v1/account, the fields Pricing reads beyond `Account`. */
export interface AccountDetails extends Account {
  pendingPlan?: string;
  period: BillingPeriod;
  cancelAt?: number;
  eraseAt?: number;
}

/** C2: one member of GET /v1/members. */
export interface Member {
  email: string;
  role: "admin" | "regular" | "custom";
  permissions: string[];
  effectivePermissions: string[];
  hasPassword: boolean;
  createdAt: number;
}
