/**
 * Bounce classification as data (D6, seeds 002/003): the closed sets (kinds, reason classes,
 * evidence sides) and the table of enhanced status codes. The text patterns live beside this
 * file (`text-rules.ts` for the providers and MTAs, `text-rules-i18n.ts` for other languages);
 * `classify.ts` is the one function that reads them, in the order documented there.
 *
 * Every rule names where it comes from (`source`) and says in a few words what it saw
 * (`says`), so an Activity reason reads "Soft bounce — blocklisted (Spamhaus listing in the
 * reply)". Sources were read and compared, never copied: KumoMTA
 * `assets/bounce_classifier/iana.toml`, zone-mta `config/bounces.txt`, sisimai
 * `lib/Sisimai/Reason/*.pm` and `lib/Sisimai/Rhost/*.pm` (which transcribe the providers'
 * published reply references), the providers' own pages, and RFC 3463 / 5248 / 7372 / 7505.
 */
import type { StatusReason } from "../model/status.ts";
import type { BounceKind, Phase, Rule } from "./rule.ts";
import { TEXT_RULES } from "./text-rules.ts";
import { I18N_RULES } from "./text-rules-i18n.ts";

export { BOUNCE_KINDS, type BounceKind, PHASES, type Phase, type Rule } from "./rule.ts";

/**
 * The reason classes an operator sees and lifts suppressions by (issue 15): a closed set, one
 * per kind. Only the first three are about the address, and only they can be hard.
 */
export const REASON_CLASSES = [
  "unknown_user",
  "unknown_domain",
  "disabled",
  "mailbox_full",
  "too_large",
  "policy",
  "reputation",
  "blocklist",
  "auth",
  "content",
  "rate_limit",
  "routing",
  "other",
] as const;
export type ReasonClass = (typeof REASON_CLASSES)[number];

/** Words for each class, as the Activity reason shows them. */
export const CLASS_LABELS: Readonly<Record<ReasonClass, string>> = {
  unknown_user: "unknown user",
  unknown_domain: "unknown domain",
  disabled: "disabled mailbox",
  mailbox_full: "mailbox full",
  too_large: "message too large",
  policy: "policy block",
  reputation: "sender reputation",
  blocklist: "blocklisted",
  auth: "sender authentication (SPF/DKIM/DMARC)",
  content: "content refused",
  rate_limit: "rate limited",
  routing: "routing",
  other: "other",
};

/**
 * Which side of the delivery a kind is about. The decision order in `classify.ts` walks the
 * sides in this order: sender evidence first (it can never suppress), then the mailbox or the
 * message, then the address (the only side that is hard).
 */
export type Side = "sender" | "mailbox" | "address";

interface KindInfo {
  permanent: "soft" | "hard";
  reason: StatusReason;
  class: ReasonClass;
  side: Side;
}

/** What a permanent failure of each kind becomes, the reason carried on the event, its class. */
export const KINDS: Readonly<Record<BounceKind, KindInfo>> = {
  // about the address (or its domain): the only hard bounces, the only causes that suppress (D8)
  unknown_user: { permanent: "hard", reason: "unknown_user", class: "unknown_user", side: "address" },
  unknown_domain: { permanent: "hard", reason: "unknown_domain", class: "unknown_domain", side: "address" },
  null_mx: { permanent: "hard", reason: "null_mx", class: "unknown_domain", side: "address" },
  disabled: { permanent: "hard", reason: "mailbox_disabled", class: "disabled", side: "address" },
  // the recipient's MX does not take mail for that domain at all
  relay_denied: { permanent: "hard", reason: "relay_denied", class: "routing", side: "address" },
  // about the mailbox or the message: the address is fine
  mailbox_full: { permanent: "soft", reason: "mailbox_full", class: "mailbox_full", side: "mailbox" },
  too_large: { permanent: "soft", reason: "message_too_large", class: "too_large", side: "mailbox" },
  dns: { permanent: "soft", reason: "dns_temporary", class: "routing", side: "mailbox" },
  connection: { permanent: "soft", reason: "connection_failed", class: "routing", side: "mailbox" },
  temporary: { permanent: "soft", reason: "remote_temporary", class: "other", side: "mailbox" },
  other: { permanent: "soft", reason: "remote_permanent", class: "other", side: "mailbox" },
  // our side: the content store could not give the message back; nothing was sent
  local_store: { permanent: "soft", reason: "content_unavailable", class: "other", side: "sender" },
  // about the sender or what it sent: never a hard bounce, never suppresses the recipient
  content: { permanent: "soft", reason: "message_rejected", class: "content", side: "sender" },
  policy: { permanent: "soft", reason: "policy_block", class: "policy", side: "sender" },
  reputation: { permanent: "soft", reason: "reputation", class: "reputation", side: "sender" },
  blocklist: { permanent: "soft", reason: "blocklisted", class: "blocklist", side: "sender" },
  auth: { permanent: "soft", reason: "sender_authentication", class: "auth", side: "sender" },
  rate_limit: { permanent: "soft", reason: "rate_limited", class: "rate_limit", side: "sender" },
  greylist: { permanent: "soft", reason: "greylisted", class: "rate_limit", side: "sender" },
  tls: { permanent: "soft", reason: "tls_required", class: "policy", side: "sender" },
};

/** Phases at which the server has not seen the recipient yet: nothing there can be hard. */
export const SENDER_PHASES: ReadonlySet<Phase> = new Set(["CONNECT", "MAIL"]);

const RFC3463 = "RFC 3463 §3 (enhanced status codes), IANA SMTP enhanced status code registry";

/**
 * Enhanced status codes, read only when the text gave no evidence (decision step 4): a code
 * alone is weaker than words, in both directions (`550 5.7.1 No such user!` is an unknown user,
 * `550 5.1.1 ... too many recipients this hour` a rate limit).
 */
export const CODE_RULES: readonly Rule[] = [
  {
    id: "x.1.2",
    kind: "unknown_domain",
    enhanced: /^\d\.1\.2$/,
    says: "bad destination domain (x.1.2)",
    source: RFC3463,
  },
  {
    id: "x.1.10",
    kind: "unknown_user",
    enhanced: /^\d\.1\.10$/,
    says: "recipient not found (x.1.10)",
    source: "RFC 7505 §4.2; Microsoft 365 uses 5.1.10 for RecipientNotFound (learn.microsoft.com NDR 5.1.10)",
  },
  {
    id: "x.1.x-address",
    kind: "unknown_user",
    enhanced: /^\d\.1\.(0|1|3|6)$/,
    says: "bad destination mailbox (x.1.1)",
    source: `${RFC3463}; KumoMTA assets/bounce_classifier/iana.toml InvalidRecipient`,
  },
  {
    id: "x.2.1",
    kind: "disabled",
    enhanced: /^\d\.2\.1$/,
    says: "mailbox disabled (x.2.1)",
    source: `${RFC3463}; KumoMTA iana.toml InactiveMailbox`,
  },
  {
    id: "x.2.2",
    kind: "mailbox_full",
    enhanced: /^\d\.2\.2$/,
    says: "mailbox full (x.2.2)",
    source: RFC3463,
  },
  {
    id: "x.2.3",
    kind: "too_large",
    enhanced: /^\d\.(2\.3|3\.4)$/,
    says: "message too large (x.2.3/x.3.4)",
    source: `${RFC3463}; KumoMTA iana.toml QuotaIssues`,
  },
  {
    id: "x.4.4",
    kind: "unknown_domain",
    enhanced: /^5\.4\.4$/,
    says: "unable to route to the domain (5.4.4)",
    source: `${RFC3463}; KumoMTA iana.toml RoutingErrors`,
  },
  {
    id: "x.4.x-dns",
    kind: "dns",
    enhanced: /^\d\.4\.3$/,
    says: "directory server failure (x.4.3)",
    source: RFC3463,
  },
  {
    id: "x.6.x",
    kind: "content",
    enhanced: /^\d\.6\.\d+$/,
    says: "message content or media (x.6.x)",
    source: RFC3463,
  },
  {
    id: "x.7.13",
    kind: "disabled",
    enhanced: /^\d\.7\.13$/,
    says: "user account disabled (x.7.13)",
    source: "RFC 3463 / IANA registry 5.7.13; KumoMTA iana.toml InactiveMailbox",
  },
  {
    id: "x.7.17",
    kind: "unknown_user",
    enhanced: /^\d\.7\.17$/,
    says: "mailbox owner has changed (x.7.17)",
    source: "RFC 7293 (RRVS) §3.3; KumoMTA iana.toml InvalidRecipient",
  },
  {
    id: "x.7.18",
    kind: "unknown_domain",
    enhanced: /^\d\.7\.18$/,
    says: "domain owner has changed (x.7.18)",
    source: "RFC 7293 (RRVS) §3.3; KumoMTA iana.toml BadDomain",
  },
  {
    id: "x.7.2x-auth",
    kind: "auth",
    enhanced: /^\d\.7\.(2[0-9]|30)$/,
    says: "sender authentication failed (x.7.2x)",
    source: "RFC 7372 (5.7.20–5.7.29); Gmail 5.7.30 DKIM (support.google.com/a/answer/3726730)",
  },
  {
    id: "x.7.x",
    kind: "policy",
    class: 5,
    enhanced: /^\d\.7\.\d+$/,
    says: "security or policy refusal (x.7.x)",
    source: RFC3463,
  },
];

/** Last resort, when neither text nor code said anything known (decision step 5). */
export const FALLBACK_RULES: readonly Rule[] = [
  {
    id: "greeting-refused",
    kind: "blocklist",
    class: 5,
    phase: ["CONNECT"],
    says: "the greeting was refused before any recipient was named",
    source: "RFC 5321 §3.1 (554 at connection open: no SMTP service for this client)",
  },
  {
    id: "temporary",
    kind: "temporary",
    class: 4,
    says: "a temporary failure",
    source: "RFC 5321 §4.2.1 (4yz)",
  },
  { id: "other", kind: "other", says: "no known cause in the reply", source: "RFC 5321 §4.2.1 (5yz)" },
];

/** Rules on the text (and the sender codes that stand with them): decision steps 1–3. */
export const EVIDENCE_RULES: readonly Rule[] = [...TEXT_RULES, ...I18N_RULES];

/** Every rule, in the order `classify.ts` consults them within each step. */
export const RULES: readonly Rule[] = [...EVIDENCE_RULES, ...CODE_RULES, ...FALLBACK_RULES];

/** Outcomes that are not an SMTP reply: DNS and connection failures (D1, D6, seed 003). */
export const TRANSPORT_OUTCOMES = {
  /** The domain does not exist (NXDOMAIN): hard. */
  nxdomain: { class: 5, kind: "unknown_domain", says: "the domain does not exist (NXDOMAIN)" },
  /** RFC 7505 null MX: the domain accepts no mail. */
  null_mx: { class: 5, kind: "null_mx", says: "the domain accepts no mail (null MX, RFC 7505)" },
  /** The domain exists but has no MX and no address record. */
  no_mail_host: { class: 5, kind: "unknown_domain", says: "the domain has no MX and no address record" },
  /** SERVFAIL, timeout, refused: the domain is temporarily not found. */
  dns_temporary: { class: 4, kind: "dns", says: "DNS lookup failed temporarily" },
  /** Refused, reset, timed out, TLS handshake failed at every MX. */
  connection_failed: { class: 4, kind: "connection", says: "no MX host could be reached" },
  /** Our side: the sending domain's DKIM key cannot be had now. Deferred, never sent unsigned (D3). */
  signing_unavailable: { class: 4, kind: "auth", says: "our DKIM key is unavailable; not sent unsigned" },
  /** Our side: the content store missed the message or did not answer. Deferred, retried (X2). */
  content_unavailable: { class: 4, kind: "local_store", says: "the message content could not be read" },
} as const satisfies Record<string, { class: 4 | 5; kind: BounceKind; says: string }>;
export type TransportOutcome = keyof typeof TRANSPORT_OUTCOMES;
