/**
 * The /v1 JSON the pages read, as far as they read it. The API's zod schemas are the contract;
 * these are the fields the pages use.
 */

import type {
  AccountStatus,
  BillingPeriod,
  DomainRecordState,
  Role,
  SendingDomainStatus,
} from "../../shared/model/account/protocol.ts";
import type { QuotaBand, SmtpEncryption } from "../../shared/model/account/views.ts";

export type Band = QuotaBand;

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
  role?: Role;
  permissions?: string[];
}

export interface Account {
  accountId: string;
  name: string;
  status: AccountStatus;
  sendingAllowed: boolean;
  timezone: string;
  plan: string;
}

// The analytics answers are the API's own types (shared/analytics): one definition, not a copy.
export type { ActivityPage, ActivityRow } from "../../shared/analytics/activity.ts";
export type { DomainFigures, Kpi, SeriesPoint } from "../../shared/analytics/queries.ts";
export type { StatsAnswer as Stats } from "../../shared/analytics/service.ts";

// — Domains, Users, Pricing, Team pages (C2–C4, C6) —

/** C4: one of the three CNAME records and its verification state (the model's own type). */
export type DomainRecord = DomainRecordState;

/** C4: GET /v1/domains/{domain}. */
export interface SendingDomain {
  domainId: string;
  domain: string;
  addedAt: number;
  status: SendingDomainStatus;
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
  connection?: {
    server?: string;
    ports: { port: number; encryption: SmtpEncryption }[];
    certificate?: { sha256: string; selfSigned: boolean };
  };
}

/** C6: a plan of GET /v1/plans; one period of GET /v1/account/billing (and the current period). */
export type { BillingPeriod, Plan } from "../../shared/model/account/protocol.ts";

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
  role: Role;
  permissions: string[];
  effectivePermissions: string[];
  hasPassword: boolean;
  createdAt: number;
}
