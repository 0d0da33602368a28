/**
 * One mail transaction of a session (MAIL FROM … end of DATA or RSET): what has been accepted,
 * refused and reserved, so that refused-later recipients give their quota back (S8) and every
 * recipient ends as exactly one `Accepted` or `Rejected` event (A1).
 */
import type { SuppressionLookup } from "../actors/account/suppression-check.ts";
import type { StatusReason } from "../shared/model/status.ts";
import type { Mailbox } from "./policy.ts";

export interface Principal {
  accountId: string;
  username: string;
}

export interface TxRecipient {
  seq: number;
  mailbox: Mailbox;
  /** S14: sandbox recipient, no quota. */
  isTest: boolean;
  /** S9: accepted at SMTP, logged Rejected (suppressed), never delivered. */
  suppressed: boolean;
}

export interface RefusedRecipient {
  seq: number;
  address: string;
  domain: string;
  reason: StatusReason;
  reply: string;
}

export interface Transaction {
  messageId: string;
  principal: Principal;
  sender: Mailbox;
  smtputf8: boolean;
  /** Next recipient sequence number (every RCPT, accepted or not, gets one). */
  seq: number;
  accepted: TxRecipient[];
  /** Recipients holding a quota reservation (not test, not suppressed). */
  reserved: number;
  /** From the QuotaGrant: makes a late release a no-op after a rollover. */
  periodStart?: number;
  startedAt: number;
  /** S9: the suppression lists as of MAIL FROM (one read barrier for the transaction's RCPTs). */
  suppressions?: SuppressionLookup;
  /** What DATA's headers said, once read (even when the message is then refused): A1's Rejected rows keep it. */
  headers?: MessageHeaders;
}

/** The headers a Rejected row keeps (issue 14 point 6). */
export interface MessageHeaders {
  subject: string;
  /** The From header, decoded, as written. */
  headerFrom: string;
}
