/**
 * What the account service hands to its callers (HTTP API, CLI): plain objects without
 * password hashes, key hashes or DKIM private keys. Built from the actor's state by pure
 * functions, so that every surface shows the same thing.
 */
import { effectivePermissions } from "./permissions.ts";
import type {
  AccountState,
  AccountStatus,
  ApiKey,
  BillingPeriod,
  DkimKey,
  Member,
  Permission,
  Plan,
  Role,
  Scope,
  SendingDomain,
  SmtpUser,
} from "./protocol.ts";

/** A7's colour band: blue ≤ 80 %, orange > 80 %, red at 100 %. */
export const QUOTA_BANDS = ["blue", "orange", "red"] as const;
export type QuotaBand = (typeof QUOTA_BANDS)[number];

export interface QuotaView {
  used: number;
  limit: number;
  /** 0–100, one decimal. */
  percent: number;
  band: QuotaBand;
  periodStart: number;
  periodEnd: number;
}

export interface AccountView {
  accountId: string;
  name: string;
  status: AccountStatus;
  /** False once cancellation took effect or the account is suspended (C2: plan status gates SMTP). */
  sendingAllowed: boolean;
  timezone: string;
  createdAt: number;
  plan: string;
  pendingPlan?: string;
  anchorDay: number;
  period: BillingPeriod;
  quota: QuotaView;
  cancelAt?: number;
  eraseAt?: number;
}

export interface MemberView {
  email: string;
  role: Role;
  /** The permissions as given (custom members). */
  permissions: Permission[];
  /** What the member may actually do. */
  effectivePermissions: Permission[];
  hasPassword: boolean;
  createdAt: number;
}

/** C3 "view details": server, ports, encryption, username. */
export const SMTP_ENCRYPTIONS = ["STARTTLS", "TLS"] as const;
export type SmtpEncryption = (typeof SMTP_ENCRYPTIONS)[number];

export interface SmtpConnectionSettings {
  /** `PETREL_HOSTNAME`; absent when the operator has not configured it (the dashboard warns). */
  server?: string;
  ports: { port: number; encryption: SmtpEncryption }[];
  /** The certificate the listeners serve, so a client can pin it (issue 14 point 8). */
  certificate?: SmtpCertificate;
}

export interface SmtpCertificate {
  /** SHA-256 fingerprint, colon-separated upper-case hex as `openssl x509 -fingerprint -sha256` prints it. */
  sha256: string;
  /** True when Petrel generated it (no PETREL_TLS_KEY/PETREL_TLS_CERT): pin it, no CA vouches for it. */
  selfSigned: boolean;
}

export interface SmtpUserView {
  username: string;
  name: string;
  createdAt: number;
  connection?: SmtpConnectionSettings;
}

/** Shown once, when created or reset. */
export interface SmtpCredentials {
  username: string;
  password: string;
}

export type DkimKeyView = Omit<DkimKey, "privateKeyPem">;

export interface DomainView extends Omit<SendingDomain, "dkim"> {
  dkim: [DkimKeyView, DkimKeyView];
}

export interface ApiKeyView {
  id: string;
  label: string;
  scopes: Scope[];
  createdAt: number;
  revokedAt?: number;
}

/** `key` is the whole secret (`pk_<id>_<secret>`), shown once. */
export interface CreatedApiKey extends ApiKeyView {
  key: string;
}

export interface PlanChange {
  plan: string;
  /** `now` for an upgrade (or a same-price change), `next_period` for a downgrade. */
  effective: "now" | "next_period";
  effectiveAt: number;
  account: AccountView;
}

export interface Cancellation {
  cancelAt: number;
  eraseAt: number;
}

/** A member signed in with email and password (dashboard sessions are built on it). */
export interface MemberPrincipal {
  accountId: string;
  email: string;
  role: Role;
  permissions: Permission[];
}

export interface ApiKeyPrincipal {
  accountId: string;
  keyId: string;
  scopes: Scope[];
}

export interface SmtpPrincipal {
  accountId: string;
  username: string;
  generation: number;
  /** C2: false when the account is suspended or cancelled (ingress refuses to send). */
  sendingAllowed: boolean;
}

export function quotaBand(used: number, limit: number): QuotaBand {
  if (limit <= 0 || used >= limit) return "red";
  return used * 100 > limit * 80 ? "orange" : "blue";
}

export function quotaView(period: BillingPeriod): QuotaView {
  const percent =
    period.quota > 0 ? Math.min(100, Math.round((period.used * 1000) / period.quota) / 10) : 100;
  return {
    used: period.used,
    limit: period.quota,
    percent,
    band: quotaBand(period.used, period.quota),
    periodStart: period.start,
    periodEnd: period.end,
  };
}

export function accountView(s: AccountState, now: number): AccountView {
  return {
    accountId: s.id,
    name: s.name,
    status: s.status,
    sendingAllowed: sendingAllowed(s, now),
    timezone: s.timezone,
    createdAt: s.createdAt,
    plan: s.plan,
    ...(s.pendingPlan !== undefined ? { pendingPlan: s.pendingPlan } : {}),
    anchorDay: s.anchorDay,
    period: s.period,
    quota: quotaView(s.period),
    ...(s.cancelAt !== undefined ? { cancelAt: s.cancelAt } : {}),
    ...(s.eraseAt !== undefined ? { eraseAt: s.eraseAt } : {}),
  };
}

/** C2/C6: an existing, active account whose cancellation (if any) has not taken effect. */
export function sendingAllowed(s: AccountState, now: number): boolean {
  return s.exists && s.status === "active" && (s.cancelAt === undefined || now < s.cancelAt);
}

export function memberView(m: Member): MemberView {
  return {
    email: m.email,
    role: m.role,
    permissions: [...m.permissions],
    effectivePermissions: effectivePermissions(m.role, m.permissions),
    hasPassword: m.passwordHash !== undefined,
    createdAt: m.createdAt,
  };
}

export function smtpUserView(u: SmtpUser, connection?: SmtpConnectionSettings): SmtpUserView {
  return {
    username: u.username,
    name: u.name,
    createdAt: u.createdAt,
    ...(connection ? { connection } : {}),
  };
}

export function domainView(d: SendingDomain): DomainView {
  const pub = ({ privateKeyPem: _, ...k }: DkimKey): DkimKeyView => k;
  return { ...d, records: d.records.map((r) => ({ ...r })), dkim: [pub(d.dkim[0]), pub(d.dkim[1])] };
}

export function apiKeyView(k: ApiKey): ApiKeyView {
  return {
    id: k.id,
    label: k.label,
    scopes: [...k.scopes],
    createdAt: k.createdAt,
    ...(k.revokedAt !== undefined ? { revokedAt: k.revokedAt } : {}),
  };
}

export function planOf(catalog: readonly Plan[], name: string): Plan | undefined {
  return catalog.find((p) => p.name === name);
}
