/** @jsxImportSource hono/jsx */
/**
 * A1/U1: a recipient status as a label (words, never colour only). For Rejected, Deferred, Soft
 * bounce and Hard bounce the reason shows on hover and on keyboard focus (seed 002): the label is
 * focusable (`tabindex="0"`) and names its tooltip with `aria-describedby`; `.status`/`.tip` in
 * app.css reveal it on :hover and :focus. Shared by the Activity, Dashboard and Domains pages.
 */
import { type RecipientStatus, STATUS_LABELS, type StatusReason } from "../../../shared/model/status.ts";

/** The words customers see (seed 002/003): declared with the closed set. */
export { STATUS_LABELS };

/** What each status means (seed 002), for a status without a more precise reason. */
export const STATUS_MEANINGS: Record<RecipientStatus, string> = {
  Accepted: "The message was received and accepted by Petrel's server.",
  Rejected: "The message was not accepted by the server before sending.",
  Pending: "The message is in the sending server's queue, waiting to be transmitted.",
  Delivered: "The message was accepted by the recipient's server.",
  Deferred: "A temporary error occurred; delivery will be retried automatically.",
  SoftBounce: "Delivery failed after several attempts due to a temporary cause.",
  HardBounce: "Delivery failed permanently, usually an invalid or non-existent address.",
};

/** Every reason of the closed set in words (seed 003). */
export const REASON_TEXTS: Record<StatusReason, string> = {
  none: "",
  invalid_address: "Invalid address: the sender or recipient address is malformed or does not exist.",
  too_many_recipients: "Too many recipients: a message cannot have more than 50 recipients.",
  quota_reached: "Sending quota reached: the monthly limit of your plan has been reached.",
  sender_domain_not_authenticated:
    "Unauthenticated domain: the sender's domain is not verified (check its 3 CNAME records in Domains).",
  suppressed: "The recipient is on your suppression list.",
  attachment_not_allowed: "An attachment of a forbidden type was found.",
  message_too_large: "Message too large: the total size exceeds the limit.",
  plan_inactive: "The account has no active SMTP plan.",
  insufficient_storage:
    "Petrel's server was low on disk space and refused the message for now; your application should send it again later.",
  remote_temporary: "The recipient's server answered with a temporary error; delivery will be retried.",
  connection_failed: "The recipient's server could not be reached.",
  dns_temporary: "The recipient's domain could not be looked up in DNS for now.",
  retry_period_expired: "Delivery kept failing for the whole retry period.",
  mailbox_full: "The recipient's mailbox is full.",
  message_rejected: "The recipient's server rejected the message.",
  policy_block: "The recipient's server refused the message by policy.",
  unknown_user: "Unknown user: the address does not exist.",
  unknown_domain: "The recipient's domain does not exist.",
  null_mx: "The recipient's domain accepts no mail (null MX).",
  delayed_bounce: "The recipient's server accepted the message, then reported that it could not deliver it.",
  mailbox_disabled: "The recipient's mailbox is disabled.",
  relay_denied: "The recipient's server does not accept mail for this address (relay denied).",
  blocklisted: "The sending server is on a blocklist used by the recipient's server.",
  reputation: "The recipient's server refused the message because of the sender's reputation.",
  sender_authentication: "The recipient's server refused the message: sender authentication failed.",
  rate_limited: "The recipient's server is limiting the rate of incoming messages.",
  greylisted: "The recipient's server asked to try again later (greylisting).",
  tls_required: "The recipient's server requires an encrypted connection.",
  remote_permanent: "The recipient's server refused the message permanently.",
  content_unavailable:
    "Our message store could not return the message for this attempt; it is retried automatically.",
};

/** Statuses whose reason is shown (seed 002). */
const WITH_REASON: ReadonlySet<string> = new Set(["Rejected", "Deferred", "SoftBounce", "HardBounce"]);

export function statusLabel(status: string): string {
  return STATUS_LABELS[status as RecipientStatus] ?? status;
}

/** The reason in words: the closed set's sentence, else the status meaning. */
export function reasonText(status: string, reason: string): string {
  return (
    REASON_TEXTS[reason as StatusReason] || STATUS_MEANINGS[status as RecipientStatus] || reason || status
  );
}

export interface StatusLabelProps {
  status: string;
  reason: string;
  remoteReply?: string;
  mxHost?: string;
  /** The classifier's decision in words (issue 15), e.g. "Soft bounce — blocklisted (…)". */
  explanation?: string;
  /** Unique in the page: the tooltip's id is derived from it. */
  id: string;
}

export function StatusLabel(p: StatusLabelProps) {
  const cls = `status status-${p.status}`;
  if (!WITH_REASON.has(p.status))
    return (
      <span class={cls} data-status={p.status}>
        {statusLabel(p.status)}
      </span>
    );
  const tipId = `tip-${p.id.replace(/[^\w-]/g, "_")}`;
  return (
    <span class={cls} data-status={p.status} tabindex={0} aria-describedby={tipId}>
      {statusLabel(p.status)}
      <span class="tip" role="tooltip" id={tipId}>
        <span class="tip-reason">{reasonText(p.status, p.reason)}</span>
        {p.explanation ? <span class="tip-line tip-why">Why: {p.explanation}</span> : null}
        {p.remoteReply ? <span class="tip-line">Server reply: {p.remoteReply}</span> : null}
        {p.mxHost ? <span class="tip-line">MX host: {p.mxHost}</span> : null}
      </span>
    </span>
  );
}
