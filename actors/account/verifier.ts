/**
 * The domain verifier (C4): checks a sending domain's CNAME records by DNS and reports the result
 * to its account actor as `{ t: "domainChecked", domain, records, at }`.
 *  - `startDomainVerifier` subscribes to `domain.verify` (group `domain-verifier`), where the
 *    account actor emits `{ accountId, domain }` when periodic re-verification is due (the API
 *    may publish one too); it tells the actor the outcome.
 *  - `verifyNow` does the same for one domain and waits until the actor has recorded it (API,
 *    CLI `petrel domain verify`).
 * An inconclusive check (a resolver failed) is returned but not recorded: it changes nothing.
 */

import type { Bus, Subscription } from "../../shared/bus/types.ts";
import { normalizeDomain } from "../../shared/domains/records.ts";
import { type CnameResolver, isConclusive, verifyRecords } from "../../shared/domains/verify.ts";
import type { Logger } from "../../shared/log.ts";
import type { AccountReply, AccountState, DomainRecordState } from "../../shared/model/account/protocol.ts";
import { DOMAIN_VERIFY_TOPIC, type DomainVerifyRequest } from "../../shared/model/account/topics.ts";
import type { Clock } from "../clock.ts";
import { accountKey } from "../keys.ts";

export { DOMAIN_VERIFY_TOPIC };
export const DOMAIN_VERIFIER_GROUP = "domain-verifier";

/** Value of a `domain.verify` record (JSON), keyed by account id (shared/model/account/topics.ts). */
export type VerifyRequest = DomainVerifyRequest;

/** What the verifier needs of an ActorSystem. */
export interface ActorsPort {
  tell(key: string, msg: unknown): Promise<void>;
  ask<R = unknown>(key: string, msg: unknown, timeoutMs?: number): Promise<R>;
}

export interface VerifyDeps {
  resolver: CnameResolver;
  clock: Pick<Clock, "now">;
}

export interface DomainCheck {
  accountId: string;
  domain: string;
  at: number;
  records: DomainRecordState[];
  /** Every record got a verdict; only then is the check recorded by the account actor. */
  conclusive: boolean;
  /** The account actor recorded it. */
  recorded: boolean;
}

/** Why a check could not be made at all. */
export class DomainCheckError extends Error {
  override readonly name = "DomainCheckError";
  constructor(
    readonly code: "account_not_found" | "domain_not_found",
    message: string,
  ) {
    super(message);
  }
}

/** The records to check, from the account actor's state (its `get` answers AccountReply<AccountState>). */
async function recordsOf(actors: ActorsPort, accountId: string, domain: string) {
  const reply = await actors.ask<AccountReply<AccountState>>(accountKey(accountId), { t: "get" });
  if (!reply.ok || !reply.value.exists)
    throw new DomainCheckError("account_not_found", `account ${accountId} not found`);
  const d = reply.value.domains[domain];
  if (!d)
    throw new DomainCheckError("domain_not_found", `domain ${domain} not found in account ${accountId}`);
  return d.records;
}

/** Checks one domain by DNS. `record`: "tell" (fire and forget), "ask" (wait for the actor). */
async function check(
  actors: ActorsPort,
  deps: VerifyDeps,
  req: VerifyRequest,
  record: "tell" | "ask",
): Promise<DomainCheck> {
  const specs = await recordsOf(actors, req.accountId, req.domain);
  const at = deps.clock.now();
  const records = await verifyRecords(deps.resolver, specs, at);
  const conclusive = isConclusive(records);
  const result: DomainCheck = { ...req, at, records, conclusive, recorded: false };
  if (!conclusive) return result;
  const msg = { t: "domainChecked", domain: req.domain, records, at };
  if (record === "tell") await actors.tell(accountKey(req.accountId), msg);
  else {
    const reply = await actors.ask<AccountReply>(accountKey(req.accountId), msg);
    if (!reply.ok) throw new DomainCheckError("domain_not_found", reply.message);
  }
  return { ...result, recorded: true };
}

/**
 * Verifies one domain now and waits until its account actor has recorded the result.
 * `domain` is normalised first (throws DomainNameError when it is not a domain name).
 */
export function verifyNow(
  actors: ActorsPort,
  accountId: string,
  domain: string,
  deps: VerifyDeps,
): Promise<DomainCheck> {
  return check(actors, deps, { accountId, domain: normalizeDomain(domain) }, "ask");
}

export interface DomainVerifierOptions extends VerifyDeps {
  bus: Bus;
  actors: ActorsPort;
  /** Partitions of `domain.verify` if this creates it (the actor system's count). */
  partitions: number;
  log?: Logger;
  /** Called after each request is handled (tests, metrics). */
  onChecked?(check: DomainCheck): void;
}

export function parseVerifyRequest(value: Uint8Array): VerifyRequest | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(value)) as Partial<VerifyRequest>;
    if (typeof v.accountId === "string" && typeof v.domain === "string" && v.accountId && v.domain)
      return { accountId: v.accountId, domain: v.domain };
  } catch {
    // reported below
  }
  return undefined;
}

export function encodeVerifyRequest(req: VerifyRequest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ accountId: req.accountId, domain: req.domain }));
}

/**
 * Starts the worker. A request that fails (account or domain gone, actor timeout) is logged and
 * skipped: the handler never throws, since a throw would stop its partition; the next periodic
 * re-verification asks again.
 */
export async function startDomainVerifier(o: DomainVerifierOptions): Promise<Subscription> {
  await o.bus.ensureTopics([{ name: DOMAIN_VERIFY_TOPIC, partitions: o.partitions }]);
  return o.bus.subscribe({
    group: DOMAIN_VERIFIER_GROUP,
    topics: [DOMAIN_VERIFY_TOPIC],
    fromBeginning: true,
    handler: async (r) => {
      const req = parseVerifyRequest(r.value);
      if (!req) {
        o.log?.warn({ offset: r.offset, partition: r.partition }, "domain.verify: malformed request skipped");
        return;
      }
      try {
        const result = await check(o.actors, o, req, "tell");
        if (!result.conclusive)
          o.log?.warn(
            { ...req, records: result.records },
            "domain check inconclusive (DNS failed); not recorded",
          );
        else o.log?.info({ ...req, states: result.records.map((x) => x.status) }, "domain checked");
        o.onChecked?.(result);
      } catch (e) {
        o.log?.warn({ ...req, err: e }, "domain check failed");
      }
    },
    onError: (e) => o.log?.error({ err: e }, "domain verifier subscription error"),
  });
}
