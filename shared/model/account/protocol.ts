/**
 * The account actor's protocol (C1–C6, A7, S4, S8): what its state holds and the messages it
 * takes. Key: `account:<accountId>` (actors/keys.ts `accountKey`). Everything that is slow or
 * random — password hashing, key generation, username generation, DNS — happens outside the
 * actor; messages carry the results, so transitions stay pure and replayable.
 *
 * Replies: every command answers `AccountReply<T>`: `{ ok: true, value }` or
 * `{ ok: false, code, message }` with a stable code from ACCOUNT_ERROR_CODES; the HTTP API maps
 * codes to statuses once (edge-api), ingress maps them to SMTP replies once (ingress).
 */

import type { Lease } from "../lease.ts";

export const ACCOUNT_STATUSES = ["active", "suspended", "cancelled"] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];
/** What `setStatus` may set: cancellation has its own path (`cancel`, then the period end). */
export type SettableAccountStatus = Exclude<AccountStatus, "cancelled">;

export const ROLES = ["admin", "regular", "custom"] as const;
export type Role = (typeof ROLES)[number];

/** Named permissions of custom members (C2). Admin has all; regular all but billing and members. */
export const PERMISSIONS = [
  "smtp.activity", // "Access SMTP activities"
  "smtp.users", // manage SMTP users
  "smtp.domains", // manage sending domains
  "smtp.suppressions", // list, add and remove suppressed recipients (D8)
  "billing", // plans, billing history, cancel
  "members", // team members
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** API key scopes (C5): the same vocabulary as permissions, plus read-only variants. */
export const SCOPES = [
  "activity:read",
  "stats:read",
  "users:write",
  "domains:write",
  "suppressions:write",
  "billing:read",
  "billing:write",
] as const;
export type Scope = (typeof SCOPES)[number];

export interface Plan {
  name: string;
  /** Recipients per billing period. */
  monthlyRecipients: number;
  /** Price per period, in cents of `currency`. */
  priceCents: number;
  currency: string;
}

export interface Member {
  email: string;
  role: Role;
  permissions: Permission[];
  /** scrypt hash (shared/security/password.ts format); absent until the member sets one. */
  passwordHash?: string;
  createdAt: number;
}

export interface SmtpUser {
  username: string;
  name: string;
  passwordHash: string;
  createdAt: number;
  /** Bumped on reset; sessions and auth caches keyed on an older generation are invalid. */
  generation: number;
}

export const DNS_RECORD_KINDS = ["dkim1", "dkim2", "return_path"] as const;
export type DnsRecordKind = (typeof DNS_RECORD_KINDS)[number];

/** What the last check found of one customer record (C4). */
export const DNS_RECORD_STATUSES = ["pending", "verified", "missing", "wrong"] as const;
export type DnsRecordStatus = (typeof DNS_RECORD_STATUSES)[number];

/** A sending domain's verification state (C4). */
export const SENDING_DOMAIN_STATUSES = ["pending", "verified", "failed"] as const;
export type SendingDomainStatus = (typeof SENDING_DOMAIN_STATUSES)[number];

export const DKIM_ALGORITHMS = ["rsa-sha256", "ed25519-sha256"] as const;
export type DkimAlgorithm = (typeof DKIM_ALGORITHMS)[number];

export interface DomainRecordState {
  kind: DnsRecordKind;
  /** The customer's record: `<name> CNAME <value>`. */
  name: string;
  type: "CNAME";
  value: string;
  status: DnsRecordStatus;
  /** What DNS answered, or why it failed, at the last check. */
  detail?: string;
  checkedAt?: number;
}

export interface DkimKey {
  selector: string;
  algorithm: DkimAlgorithm;
  /** Base64 of the SubjectPublicKeyInfo DER: the `p=` of the TXT record. */
  publicKey: string;
  /** PKCS#8 PEM. Kept in the actor's snapshot; see the note on secrets in the README. */
  privateKeyPem: string;
}

export interface SendingDomain {
  id: string;
  domain: string;
  addedAt: number;
  status: SendingDomainStatus;
  /** Set when the operator marked it verified without DNS (`--trust`). */
  trusted: boolean;
  /** Who trusted it (O4 `--trust` is logged). */
  trustedBy?: string;
  records: DomainRecordState[];
  dkim: [DkimKey, DkimKey];
  /** Selector that signs now (D3): one of dkim[0|1].selector. */
  activeSelector: string;
  /** Host of the VERP Return-Path (D4), e.g. `bounces.example.com`. */
  returnPathHost: string;
  verifiedAt?: number;
  lastCheckAt?: number;
}

export interface ApiKey {
  id: string;
  label: string;
  /** keyed hash of the secret (shared/security); the secret itself is shown once. */
  hash: string;
  scopes: Scope[];
  createdAt: number;
  revokedAt?: number;
}

export interface BillingPeriod {
  /** Inclusive start, exclusive end, epoch ms; computed in the account's time zone. */
  start: number;
  end: number;
  plan: string;
  quota: number;
  used: number;
  priceCents: number;
  currency: string;
}

export interface AccountState {
  id: string;
  /** False until `create`: an actor activated by a stray message is not an account. */
  exists: boolean;
  name: string;
  status: AccountStatus;
  timezone: string;
  createdAt: number;
  plan: string;
  /** A downgrade waiting for the next period. */
  pendingPlan?: string;
  /** The plan `pendingPlan` names, as the catalog had it when the change was asked. */
  pendingPlanSpec?: Plan;
  /** Day of month of the anniversary (1–31, clamped to short months). */
  anchorDay: number;
  period: BillingPeriod;
  history: BillingPeriod[];
  /** Cancellation: sending stops at this instant (the end of the period it was asked in). */
  cancelAt?: number;
  /** Data erasure after the retention period following cancellation. */
  eraseAt?: number;
  /** Quota alerts (A7) already sent this period: 80, 90, 100. */
  alertsSent: number[];
  members: Record<string, Member>;
  smtpUsers: Record<string, SmtpUser>;
  domains: Record<string, SendingDomain>;
  apiKeys: Record<string, ApiKey>;
  /** S4: SMTP session slots as leases, by lease id (actors/account/sessions.ts); absent = none. */
  sessions?: Record<string, SessionLease>;
  /** S8: blocks of quota granted to nodes as credit, by lease id (actors/account/credit.ts). */
  credits?: Record<string, QuotaCredit>;
}

/**
 * S8 as credit (issue 16): a block of the period's quota granted to one node, counted in
 * `period.used` from the grant on (the grant is the reservation), so a cluster can never overshoot.
 * The node reserves recipients from it locally and hands back what it did not use; a credit not
 * handed back by `expiresAt` (its node died) stays counted, which errs on the safe side.
 */
export interface QuotaCredit {
  granted: number;
  periodStart: number;
  expiresAt: number;
}

/** The reply to `grantCredit`: a QuotaGrant, plus the credit lease when a block was granted. */
export interface CreditGrant extends QuotaGrant {
  /** Present when the grant is a block held as credit (hand back its unused part under this id). */
  leaseId?: string;
  /** How long from the ask the node may use the credit (the lease, cut at the period end). */
  validMs?: number;
}

/**
 * S4: one SMTP session's slot, held until released or until `expiresAt` passes without a renew:
 * a lease (shared/model/lease.ts) whose holder is the SMTP username.
 */
export type SessionLease = Lease;

/** S4: the reply to `acquireSession`: granted, or which limit refused it. */
export interface SessionGrant {
  granted: boolean;
  refusedBy?: "user" | "account";
  userSessions: number;
  accountSessions: number;
}

/**
 * S4 as credit (issue 16): the reply to `sessionCredit`: the weight the node's block now has, the
 * counts after, and which limit refused when it is less than asked.
 */
export interface SessionCreditGrant {
  slots: number;
  userSessions: number;
  accountSessions: number;
  refusedBy?: "user" | "account";
}

export type AccountMsg =
  | { t: "create"; name: string; plan: Plan; timezone: string }
  | { t: "get" }
  | { t: "changePlan"; plan: Plan }
  | { t: "cancel" }
  | { t: "setStatus"; status: SettableAccountStatus }
  | { t: "addMember"; email: string; role: Role; permissions: Permission[]; passwordHash?: string }
  | { t: "updateMember"; email: string; role?: Role; permissions?: Permission[]; passwordHash?: string }
  | { t: "removeMember"; email: string }
  | { t: "createSmtpUser"; username: string; name: string; passwordHash: string }
  | { t: "resetSmtpUser"; username: string; passwordHash: string }
  | { t: "deleteSmtpUser"; username: string }
  | { t: "addDomain"; domain: SendingDomain }
  | { t: "domainChecked"; domain: string; records: DomainRecordState[]; at: number }
  | { t: "trustDomain"; domain: string; by: string }
  | { t: "deleteDomain"; domain: string }
  | { t: "createApiKey"; key: ApiKey }
  | { t: "revokeApiKey"; id: string }
  /** S8: reserve `n` recipients of this period's quota, atomically; answers how many were granted. */
  | { t: "reserveQuota"; n: number; test?: boolean }
  /**
   * Gives back reservations of recipients refused later in the transaction. `periodStart` (from
   * the QuotaGrant) makes a release that arrives after a rollover a no-op instead of wrongly
   * lowering the new period's counter.
   */
  | { t: "releaseQuota"; n: number; periodStart?: number }
  /**
   * S8 as credit (issue 16): reserve `need` recipients now, and while plenty is left a block of
   * `block` held by the asking node as credit under `leaseId` for `ttlMs`; `settle` hands back the
   * unused part of the node's previous credit in the same turn.
   */
  | {
      t: "grantCredit";
      leaseId: string;
      need: number;
      block: number;
      ttlMs: number;
      settle?: { leaseId: string; unused: number };
    }
  /** Hands back the unused part of a credit; a credit unknown here (expired, settled) changes nothing. */
  | { t: "settleCredit"; leaseId: string; unused: number }
  /**
   * S4: take a session slot for `username` under the per-user and per-account limits, as a lease
   * that lapses `ttlMs` after the last acquire/renew (a dead session or node leaks nothing).
   * Idempotent per `leaseId`. Ingress now holds slots as credit (`sessionCredit`); this lease per
   * session stays for nodes of an earlier version during an upgrade, counted with the blocks.
   */
  | {
      t: "acquireSession";
      leaseId: string;
      username: string;
      ttlMs: number;
      maxPerUser: number;
      maxPerAccount: number;
    }
  /** S4: extend a held lease; answers `{ held: false }` when it had lapsed. */
  | { t: "renewSession"; leaseId: string; ttlMs: number }
  /** S4: give a slot back; unknown ids are a no-op. */
  | { t: "releaseSession"; leaseId: string }
  /**
   * S4 as credit (issue 16): set this node's block of `username`'s session slots (one lease of
   * weight `slots`) to `slots`, or as many as the limits allow counting every other lease;
   * shrinking is always granted, 0 releases it. Extends the block to `ttlMs` from now.
   */
  | {
      t: "sessionCredit";
      leaseId: string;
      username: string;
      slots: number;
      ttlMs: number;
      maxPerUser: number;
      maxPerAccount: number;
    }
  /** Timer: the billing period ends (rollover, pending downgrade, cancellation). */
  | { t: "periodEnd" }
  /** Timer: periodic re-verification of sending domains is due. */
  | { t: "reverifyDue" }
  /** Timer: the retention after cancellation has passed: erase. */
  | { t: "eraseDue" };

export const ACCOUNT_ERROR_CODES = [
  "account_not_found",
  "account_exists",
  "account_inactive",
  "member_exists",
  "member_not_found",
  "last_admin",
  "smtp_user_exists",
  "smtp_user_not_found",
  "domain_exists",
  "domain_not_found",
  "api_key_not_found",
  "plan_unchanged",
  "plan_not_found",
  "invalid_request",
] as const;
export type AccountErrorCode = (typeof ACCOUNT_ERROR_CODES)[number];

export type AccountReply<T = unknown> =
  | { ok: true; value: T }
  | { ok: false; code: AccountErrorCode; message: string };

/** Why a quota reservation granted fewer than asked (S8). */
export const QUOTA_REFUSALS = ["quota_reached", "account_inactive"] as const;
export type QuotaRefusal = (typeof QUOTA_REFUSALS)[number];

export interface QuotaGrant {
  granted: number;
  used: number;
  quota: number;
  /** Start of the period the grant counts in; hand it back with `releaseQuota`. */
  periodStart: number;
  /** Why fewer than asked were granted. */
  reason?: QuotaRefusal;
}

/** What `value` holds in the `{ ok: true }` reply to each message (timers answer nothing). */
export interface AccountReplyValues {
  create: AccountState;
  get: AccountState;
  changePlan: { account: AccountState; effective: "now" | "next_period"; effectiveAt: number };
  cancel: { cancelAt: number; eraseAt: number };
  setStatus: AccountState;
  addMember: Member;
  updateMember: Member;
  removeMember: null;
  createSmtpUser: SmtpUser;
  resetSmtpUser: SmtpUser;
  deleteSmtpUser: null;
  addDomain: SendingDomain;
  domainChecked: SendingDomain;
  trustDomain: SendingDomain;
  deleteDomain: null;
  createApiKey: ApiKey;
  revokeApiKey: ApiKey;
  reserveQuota: QuotaGrant;
  releaseQuota: QuotaGrant;
  grantCredit: CreditGrant;
  settleCredit: QuotaGrant;
  acquireSession: SessionGrant;
  renewSession: { held: boolean };
  releaseSession: null;
  sessionCredit: SessionCreditGrant;
}
