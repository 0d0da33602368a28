/** The ingress limits (seed 001 "Service limits"; S3–S6, S13, S14), taken from the one config. */
import type { Config } from "../shared/config/schema.ts";

export interface IngressLimits {
  maxRecipients: number;
  maxMessageBytes: number;
  maxHeaderBytes: number;
  sessionsPerUser: number;
  sessionsPerAccount: number;
  sessionsPerIp: number;
  sessionLeaseMs: number;
  /** S4 (issue 16): a spare slot of this node's blocks (sessions per user, connections per IP) goes back after this long unused; 0 = at once. */
  sessionCreditIdleMs: number;
  authMaxFailures: number;
  authWindowMs: number;
  authBlockMs: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  maxBadCommands: number;
  /** S13: least average bytes per second of DATA, checked after the idle window. */
  minDataRate: number;
  /** S13: longest command line (RFC 5321 4.5.3.1.4 says 512; extensions add some). */
  maxCommandLength: number;
  /**
   * S13: pause before the greeting; a client that sends anything during it is refused (421).
   * smtp-server hard-codes 100 ms; Petrel's default is 0 (see harden.ts `greetAfter`).
   */
  greetingDelayMs: number;
  sandboxDomain: string;
  /** S8 (issue 16): recipients of quota per credit block a node holds; 0 = an ask per recipient. */
  quotaCreditBlock: number;
}

export function limitsFromConfig(c: Config): IngressLimits {
  return {
    maxRecipients: c.smtpMaxRecipients,
    maxMessageBytes: c.smtpMaxMessageBytes,
    maxHeaderBytes: c.smtpMaxHeaderBytes,
    sessionsPerUser: c.smtpSessionsPerUser,
    sessionsPerAccount: c.smtpSessionsPerAccount,
    sessionsPerIp: c.smtpSessionsPerIp,
    sessionLeaseMs: c.smtpSessionLeaseMs,
    sessionCreditIdleMs: c.smtpSessionCreditIdleMs,
    authMaxFailures: c.smtpAuthMaxFailures,
    authWindowMs: c.smtpAuthWindowMs,
    authBlockMs: c.smtpAuthBlockMs,
    idleTimeoutMs: c.smtpIdleTimeoutMs,
    maxSessionMs: c.smtpMaxSessionMs,
    maxBadCommands: c.smtpMaxBadCommands,
    minDataRate: c.smtpMinDataRate,
    maxCommandLength: 1024,
    greetingDelayMs: c.smtpGreetingDelayMs,
    sandboxDomain: c.sandboxDomain,
    quotaCreditBlock: c.smtpQuotaCreditBlock,
  };
}
