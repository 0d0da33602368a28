/**
 * Bounce classification as data (D6, seeds 002/003), in the style of zone-mta's
 * `config/bounces.txt`: an ordered table of matches, the first that fits names the cause
 * (`kind`); the kind decides what a permanent (5xx) failure becomes. A temporary (4xx) reply
 * is always `defer`, whatever its kind. `classify.ts` is the one function that reads them.
 *
 * Text rules come first because codes mislead (bounce-corpus README): `550 5.7.1 No such user!`
 * is an unknown user, `552 5.1.1 ... overquota` a full mailbox, `550 5.1.1 ... too many
 * recipients this hour` a rate limit. Within the text rules, causes about the sender (rate,
 * authentication, blocklists, reputation) come before causes about the address, so that
 * "Mailbox unavailable. Your IP address is blacklisted" never suppresses a good address.
 * Every rule is exercised by `tests/bounce/classify.test.ts` against the labelled corpus.
 */
import type { StatusReason } from "../model/status.ts";

/** When the reply was given: greeting, MAIL FROM, RCPT TO, end of DATA. */
export const PHASES = ["CONNECT", "MAIL", "RCPT", "DATA"] as const;
export type Phase = (typeof PHASES)[number];

/** The cause of a failure (the corpus `kind` column, plus transport outcomes). Closed set. */
export const BOUNCE_KINDS = [
  "unknown_user",
  "unknown_domain",
  "null_mx",
  "disabled",
  "relay_denied",
  "mailbox_full",
  "too_large",
  "content",
  "policy",
  "reputation",
  "blocklist",
  "auth",
  "rate_limit",
  "greylist",
  "tls",
  "dns",
  "connection",
  "temporary",
  "other",
] as const;
export type BounceKind = (typeof BOUNCE_KINDS)[number];

/** What a permanent failure of each kind becomes, and the reason carried on the event. */
export const KINDS: Readonly<Record<BounceKind, { permanent: "soft" | "hard"; reason: StatusReason }>> = {
  // about the address: the only hard bounces, the only causes that suppress (D8)
  unknown_user: { permanent: "hard", reason: "unknown_user" },
  unknown_domain: { permanent: "hard", reason: "unknown_domain" },
  null_mx: { permanent: "hard", reason: "null_mx" },
  disabled: { permanent: "hard", reason: "mailbox_disabled" },
  relay_denied: { permanent: "hard", reason: "relay_denied" },
  // about the mailbox or the message: the address is fine
  mailbox_full: { permanent: "soft", reason: "mailbox_full" },
  too_large: { permanent: "soft", reason: "message_too_large" },
  content: { permanent: "soft", reason: "message_rejected" },
  // about the sender: never a hard bounce, never suppresses the recipient
  policy: { permanent: "soft", reason: "policy_block" },
  reputation: { permanent: "soft", reason: "reputation" },
  blocklist: { permanent: "soft", reason: "blocklisted" },
  auth: { permanent: "soft", reason: "sender_authentication" },
  rate_limit: { permanent: "soft", reason: "rate_limited" },
  greylist: { permanent: "soft", reason: "greylisted" },
  tls: { permanent: "soft", reason: "tls_required" },
  // transient by nature: soft when given up on
  dns: { permanent: "soft", reason: "dns_temporary" },
  connection: { permanent: "soft", reason: "connection_failed" },
  temporary: { permanent: "soft", reason: "remote_temporary" },
  other: { permanent: "soft", reason: "remote_permanent" },
};

/** Phases at which the server has not seen the recipient yet: nothing there can be hard. */
export const SENDER_PHASES: ReadonlySet<Phase> = new Set(["CONNECT", "MAIL"]);

export interface Rule {
  /** Stable name, reported with the classification. */
  id: string;
  kind: BounceKind;
  /** On the reply text (multi-line replies joined). */
  text?: RegExp;
  /** On the enhanced status code, e.g. `5.1.1`. */
  enhanced?: RegExp;
  /** Only replies of this class (4 = temporary, 5 = permanent). */
  class?: 4 | 5;
  phase?: readonly Phase[];
}

/** Ordered: the first rule whose every given field matches wins. */
export const RULES: readonly Rule[] = [
  // --- the recipient's MX does not take mail for that domain at all (hard)
  {
    id: "relay-denied",
    kind: "relay_denied",
    text: /relay(ing)? access denied|relaying denied|isn't in my list of allowed rcpthosts|we do not relay/i,
  },
  // --- specific content causes that contain sender-ish words
  { id: "uri-blocklist", kind: "content", text: /blacklisted (url|link)|\buribl\b|surbl/i },
  // --- sender side: greylisting, TLS, rate, authentication, blocklists, reputation
  {
    id: "greylist",
    kind: "greylist",
    text: /grey ?list|gray ?list|internal resource temporarily unavailable/i,
  },
  {
    id: "tls",
    kind: "tls",
    text: /tls required|must issue a starttls|encryption required|requires? (a )?secure connection/i,
  },
  { id: "rate-unusual-temp", kind: "rate_limit", class: 4, text: /unusual rate of unsolicited mail/i },
  {
    id: "rate-limit",
    kind: "rate_limit",
    text: /receiving mail (at a rate|too quickly)|excessive volume|too many (recipients|connections|messages)|frequency limit|rate limit exceeded|slow down/i,
  },
  {
    id: "sender-auth",
    kind: "auth",
    text: /\bspf\b|\bdkim\b|\bdmarc\b|\bptr\b|reverse dns|unauthenticated|authentication (checks|level|requirements)|may not be mail exchanger/i,
  },
  {
    id: "sender-address",
    kind: "policy",
    text: /sender address rejected|sender domain|domain of sender|sender was rejected/i,
  },
  { id: "x.1.7-sender", kind: "policy", enhanced: /^\d\.1\.[78]$/ },
  {
    id: "blocklist",
    kind: "blocklist",
    text: /blocked using|rejected using|black ?list|block ?list|\bdnsbl|\brbl\b|spamhaus|\b(is|are|been) listed (by|on|in|at)\b|banned send|\bblocked (- see|by|for)\b|^blocked\b|client host (\[[^\]]*\] )?blocked|host network not allowed|weren't sent|sender rejected|\bAUP#/i,
  },
  { id: "reputation-unusual", kind: "reputation", class: 5, text: /unusual rate of unsolicited mail/i },
  { id: "reputation", kind: "reputation", text: /reputation|user complaints|\[TSS\d+\]/i },
  // --- the mailbox or the message (soft)
  {
    id: "mailbox-full",
    kind: "mailbox_full",
    text: /quota|mailbox (is )?full|mailbox size limit|out of storage|storage space|insufficient storage for|pleine/i,
  },
  {
    id: "too-large",
    kind: "too_large",
    text: /message (is )?too (large|big)|message (size|length)|size limit|recipsizelimit/i,
  },
  // --- the address (hard)
  {
    id: "disabled",
    kind: "disabled",
    text: /\b(account|mailbox)\b[^.]*\b(is|has been) (disabled|inactive|frozen|suspended|discontinued)|disabled recipient/i,
  },
  {
    id: "dns-temporary",
    kind: "dns",
    text: /(host|domain) not found, try again|name service error.*try again|temporary dns|dns (lookup )?(failure|error).*(try|temporar)/i,
  },
  {
    id: "unknown-domain",
    kind: "unknown_domain",
    text: /no such domain|domain (does not exist|not found|name not found)|host or domain name not found|host unknown|unrouteable (address|domain)/i,
  },
  {
    id: "unknown-user",
    kind: "unknown_user",
    text: /no such (user|mailbox|recipient|address)|user(name)? (unknown|not found|does not exist)|unknown (user|recipient|addressee)|addressee unknown|recipient (not found|unknown|rejected)|recip(ient)?notfound|(mailbox|address|account|user) (does not|doesn't) exist|does not exist|(invalid|not a valid) (recipient|mailbox|address)|mailbox (not found|unavailable)|no mailbox here|not listed in .*directory|no longer on server|recipient address rejected: access denied|doesn't have an? \S+ account|^address rejected/i,
  },
  // --- the message (soft)
  {
    id: "content",
    kind: "content",
    text: /spam|virus|malware|content (rejected|presents)|message content|\bUBE\b|rfc ?5322 compliant|multiple addresses in from|headers? too (large|long|many)|hop count|mail loop|message filtered|mail rejected/i,
  },
  {
    id: "policy",
    kind: "policy",
    text: /polic(y|ies)|authentication required|access to submit messages|unresolvable .*from domain|unverifi?y?able sending/i,
  },
  { id: "service-refused", kind: "policy", class: 5, text: /service refused?\b/i },
  // --- enhanced status codes (RFC 3463, RFC 7372, RFC 7505) when the text said nothing known
  { id: "x.1.2", kind: "unknown_domain", enhanced: /^\d\.1\.2$/ },
  { id: "x.1.10", kind: "unknown_user", enhanced: /^\d\.1\.10$/ },
  { id: "x.1.x-address", kind: "unknown_user", enhanced: /^\d\.1\.(0|1|3|6)$/ },
  { id: "x.2.1", kind: "disabled", enhanced: /^\d\.2\.1$/ },
  { id: "x.2.2", kind: "mailbox_full", enhanced: /^\d\.2\.2$/ },
  { id: "x.2.3", kind: "too_large", enhanced: /^\d\.(2\.3|3\.4)$/ },
  { id: "x.4.4", kind: "unknown_domain", enhanced: /^5\.4\.4$/ },
  { id: "x.4.x-dns", kind: "dns", enhanced: /^\d\.4\.3$/ },
  { id: "x.6.x", kind: "content", enhanced: /^\d\.6\.\d+$/ },
  { id: "x.7.13", kind: "disabled", enhanced: /^\d\.7\.13$/ },
  { id: "x.7.2x-auth", kind: "auth", enhanced: /^\d\.7\.(2[0-9])$/ },
  { id: "x.7.x", kind: "policy", class: 5, enhanced: /^\d\.7\.\d+$/ },
  // --- last resort by phase and class
  { id: "greeting-refused", kind: "blocklist", class: 5, phase: ["CONNECT"] },
  { id: "temporary", kind: "temporary", class: 4 },
  { id: "other", kind: "other" },
];

/** Outcomes that are not an SMTP reply: DNS and connection failures (D1, D6, seed 003). */
export const TRANSPORT_OUTCOMES = {
  /** The domain does not exist (NXDOMAIN): hard. */
  nxdomain: { class: 5, kind: "unknown_domain" },
  /** RFC 7505 null MX: the domain accepts no mail. */
  null_mx: { class: 5, kind: "null_mx" },
  /** The domain exists but has no MX and no address record. */
  no_mail_host: { class: 5, kind: "unknown_domain" },
  /** SERVFAIL, timeout, refused: the domain is temporarily not found. */
  dns_temporary: { class: 4, kind: "dns" },
  /** Refused, reset, timed out, TLS handshake failed at every MX. */
  connection_failed: { class: 4, kind: "connection" },
  /** Our side: the sending domain's DKIM key cannot be had now. Deferred, never sent unsigned (D3). */
  signing_unavailable: { class: 4, kind: "auth" },
} as const satisfies Record<string, { class: 4 | 5; kind: BounceKind }>;
export type TransportOutcome = keyof typeof TRANSPORT_OUTCOMES;
