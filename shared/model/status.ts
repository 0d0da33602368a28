/**
 * Closed sets carried on every status event (STYLE: closed sets for statuses and reasons).
 * The words are the ones customers see in Activity (seed 002/003).
 */
import { z } from "zod";

export const RECIPIENT_STATUSES = [
  "Accepted",
  "Rejected",
  "Pending",
  "Delivered",
  "Deferred",
  "SoftBounce",
  "HardBounce",
] as const;
export const RecipientStatus = z.enum(RECIPIENT_STATUSES);
export type RecipientStatus = z.infer<typeof RecipientStatus>;

/** The words customers see (seed 002/003): what the dashboard shows and the CLI accepts. */
export const STATUS_LABELS: Record<RecipientStatus, string> = {
  Accepted: "Accepted",
  Rejected: "Rejected",
  Pending: "Pending",
  Delivered: "Delivered",
  Deferred: "Deferred",
  SoftBounce: "Soft bounce",
  HardBounce: "Hard bounce",
};

const STATUS_BY_WORD: ReadonlyMap<string, RecipientStatus> = new Map(
  RECIPIENT_STATUSES.flatMap((s) => [
    [s.toLowerCase(), s],
    [STATUS_LABELS[s].toLowerCase(), s],
  ]),
);

/** A status by its name or its label, in any case (`delivered`, `Soft bounce`); else undefined. */
export function recipientStatusOf(word: string): RecipientStatus | undefined {
  return STATUS_BY_WORD.get(word.trim().replace(/\s+/g, " ").toLowerCase());
}

/** Final statuses never change again, except Delivered → bounce by a delayed report (A6, D7). */
export const FINAL_STATUSES: ReadonlySet<RecipientStatus> = new Set([
  "Rejected",
  "Delivered",
  "SoftBounce",
  "HardBounce",
]);

/** Why a recipient was refused, deferred or bounced; `none` for Accepted/Pending/Delivered. */
export const STATUS_REASONS = [
  "none",
  // refused at submission (Rejected)
  "invalid_address",
  "too_many_recipients",
  "quota_reached",
  "sender_domain_not_authenticated",
  "suppressed",
  "attachment_not_allowed",
  "message_too_large",
  "plan_inactive",
  "insufficient_storage",
  // delivery (Deferred / SoftBounce / HardBounce)
  "remote_temporary",
  "connection_failed",
  "dns_temporary",
  "retry_period_expired",
  "mailbox_full",
  "message_rejected",
  "policy_block",
  "unknown_user",
  "unknown_domain",
  "null_mx",
  "delayed_bounce",
  // delivery, finer causes from the bounce classification (shared/bounce/rules.ts, D6)
  "mailbox_disabled",
  "relay_denied",
  "blocklisted",
  "reputation",
  "sender_authentication",
  "rate_limited",
  "greylisted",
  "tls_required",
  "remote_permanent",
  // our side: the message content could not be read (a content miss, a store outage): retried
  "content_unavailable",
] as const;
export const StatusReason = z.enum(STATUS_REASONS);
export type StatusReason = z.infer<typeof StatusReason>;
