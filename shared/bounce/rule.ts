/** The shape of one classification rule and the closed sets it uses (rules.ts holds the tables). */
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
  "local_store",
] as const;
export type BounceKind = (typeof BOUNCE_KINDS)[number];

export interface Rule {
  /** Stable name, reported with the classification. */
  id: string;
  kind: BounceKind;
  /** On the reply text (multi-line replies joined, addresses removed). */
  text?: RegExp;
  /** On the enhanced status code, e.g. `5.1.1`. */
  enhanced?: RegExp;
  /** Only replies of this class (4 = temporary, 5 = permanent). */
  class?: 4 | 5;
  phase?: readonly Phase[];
  /**
   * An address phrase that servers also use for other refusals (RFC 5321's own 550 text
   * "mailbox unavailable", "recipient rejected"): evidence about the address only when the
   * enhanced code does not say the refusal is about security or policy (x.7.x).
   */
  weak?: true;
  /** What the rule saw, in a few words, for the Activity reason. */
  says: string;
  /** Where the rule comes from (repository path, page, RFC). */
  source: string;
}
