/**
 * What the management API (/v1) needs from the relay, passed in by the runtime entries
 * (main.ts, main.deno.ts). Only types cross this boundary, so edge-api stays runtime-neutral.
 */
import type { AccountService } from "../actors/account/service.ts";
import type { Analytics } from "../shared/analytics/service.ts";
import type { DomainView } from "../shared/model/account/views.ts";
import type { SessionStore } from "./auth/sessions.ts";

/** Sending-domain work that needs DNS and key generation (shared/domains), bound to the accounts. */
export interface DomainOps {
  /** C4: builds the domain (two DKIM key pairs, three CNAME records) and stores it with the account. */
  add(accountId: string, domain: string): Promise<DomainView>;
  /** C4: resolves the three CNAMEs through the configured resolvers and records each one's state. */
  verify(accountId: string, domain: string): Promise<DomainView>;
  /** The provider zone (RFC 1035 master format) that the customers' CNAMEs point into. */
  zone(): Promise<string>;
}

/** Operator actions worth a log line of their own (O4: `--trust` is logged). */
export type AuditLog = (event: string, fields: Record<string, unknown>) => void;

export interface ControlDeps {
  accounts: AccountService;
  domains: DomainOps;
  /** The operator token (PETREL_ADMIN_TOKEN or the one generated into the data dir). */
  adminToken: string;
  sessions: SessionStore;
  audit?: AuditLog;
  /** Activity and Statistics reads on ClickHouse (issue 6); unset = those routes answer 503. */
  analytics?: Analytics;
  /** The relay's clock, ms since the epoch: "today" of the read routes (tests pin it); unset = system time. */
  now?: () => number;
}
