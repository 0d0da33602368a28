/**
 * Binds the management API's dependencies (deps.ts) to the relay's parts on Node and Deno: the
 * account service, the sending-domain code (shared/domains: key generation, DNS verification,
 * zone export) and the operator token. Not imported by app.ts, which stays runtime-neutral.
 */
import type { AccountService } from "../actors/account/service.ts";
import { type ActorsPort, verifyNow } from "../actors/account/verifier.ts";
import type { Clock } from "../actors/clock.ts";
import type { Analytics } from "../shared/analytics/service.ts";
import type { DirectoryView } from "../shared/directory/view.ts";
import { buildSendingDomain } from "../shared/domains/build.ts";
import type { CnameResolver } from "../shared/domains/verify.ts";
import { exportZone, type ZoneSettings } from "../shared/domains/zone.ts";
import type { Logger } from "../shared/log.ts";
import type { SessionStore } from "./auth/sessions.ts";
import type { ControlDeps, DomainOps } from "./deps.ts";

export interface ControlParts {
  accounts: AccountService;
  actors: ActorsPort;
  directory: DirectoryView;
  /** Resolvers of PETREL_DNS_SERVERS (shared/domains/verify.ts `createResolver`). */
  resolver: CnameResolver;
  clock: Pick<Clock, "now">;
  /** Zone settings from the config (shared/domains/zone.ts `zoneSettings`). */
  zone: ZoneSettings;
  adminToken: string;
  log?: Logger;
  /** Dashboard sessions, valid on every node (actors/session/service.ts `SessionService`). */
  sessions: SessionStore;
  /** Activity and Statistics reads (shared/analytics/service.ts `createAnalytics`). */
  analytics?: Analytics;
}

export function createDomainOps(p: ControlParts): DomainOps {
  return {
    add: async (accountId, domain) => {
      // Fails fast (before generating keys) when the account does not exist.
      await p.accounts.getAccount(accountId);
      const built = await buildSendingDomain({ domain, provider: p.zone.provider, now: p.clock.now() });
      return p.accounts.addDomain(accountId, built);
    },
    verify: async (accountId, domain) => {
      const check = await verifyNow(p.actors, accountId, domain, { resolver: p.resolver, clock: p.clock });
      const view = await p.accounts.getDomain(accountId, check.domain);
      // An inconclusive check (a resolver failed) is not recorded: show what DNS said anyway.
      return check.recorded ? view : { ...view, records: check.records };
    },
    zone: async () => {
      const entries = p.directory.sendingDomains();
      // A domain deleted meanwhile is skipped (its directory entry is going away).
      const found = await Promise.all(
        entries.map((e) => p.accounts.sendingDomain(e.accountId, e.domain).catch(() => undefined)),
      );
      const domains = found.filter((d) => d !== undefined);
      return exportZone({ ...p.zone, domains, now: p.clock.now() });
    },
  };
}

export function createControl(p: ControlParts): ControlDeps {
  return {
    accounts: p.accounts,
    domains: createDomainOps(p),
    adminToken: p.adminToken,
    // The read routes' "today" comes from the same clock as the rest of the control plane.
    now: () => p.clock.now(),
    sessions: p.sessions,
    audit: (event, fields) => p.log?.warn({ audit: true, ...fields }, event),
    ...(p.analytics ? { analytics: p.analytics } : {}),
  };
}
