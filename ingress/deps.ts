/** What an SMTP session needs from the rest of the relay (ingress/server.ts passes it down). */
import type { SuppressionLookup } from "../actors/account/suppression-check.ts";
import type { ActorSystem } from "../actors/system.ts";
import type { Bus } from "../shared/bus/types.ts";
import type { ContentStore } from "../shared/content/store.ts";
import type { AccountEntry } from "../shared/directory/entries.ts";
import type { DiskGuard } from "../shared/disk-guard.ts";
import type { Logger } from "../shared/log.ts";
import type { IngressRecorder, Registry } from "../shared/metrics.ts";
import type { SmtpPrincipal } from "../shared/model/account/views.ts";
import type { AccountPort } from "./account-port.ts";
import type { ClientPort } from "./client-port.ts";
import type { IngressLimits } from "./limits.ts";

export interface IngressDeps {
  nodeId: string;
  hostname: string;
  limits: IngressLimits;
  directory: { account(accountId: string): AccountEntry | undefined };
  authenticate(username: string, password: string): Promise<SmtpPrincipal | null>;
  accounts: AccountPort;
  /** S3, S4 per client IP: the client actors (cluster-wide). */
  clients: ClientPort;
  actors: ActorSystem;
  bus: Bus;
  store: ContentStore;
  log: Logger;
  now(): number;
  /** Prometheus registry (X4); counters are kept off-registry when absent. */
  metrics?: Registry;
  /** Issue 17: the free-space floor; new messages are refused (452 4.3.1) while it is not `ok`. */
  storage?: Pick<DiskGuard, "ok" | "check">;
  /** X4: replies of class 4 and 5 by code (shared/metrics.ts). */
  refusals?: IngressRecorder;
  /**
   * S9 / D8: the suppression lists as of the start of a transaction, asked at MAIL FROM; each RCPT
   * checks its recipient through the answer (actors/account/suppression-check.ts).
   */
  suppressions?(): SuppressionLookup;
}
