/**
 * Start-up of the delivery workers from the one config (a job of the composition root, relay.ts),
 * and the settings the domain actors and the bounce listener derive from it.
 */
import { createHmac } from "node:crypto";
import type { Bus } from "../../shared/bus/types.ts";
import { type Config, smtpName } from "../../shared/config/schema.ts";
import type { ContentStore } from "../../shared/content/store.ts";
import { createResolver } from "../../shared/domains/verify.ts";
import type { Logger } from "../../shared/log.ts";
import type { DeliveryRecorder } from "../../shared/metrics.ts";
import type { ServerSecrets } from "../../shared/security/secrets.ts";
import type { AccountService } from "../account/service.ts";
import type { Clock } from "../clock.ts";
import { domainOptionsFromConfig } from "../domain/options.ts";
import type { ActorSystem } from "../system.ts";
import { DkimPool } from "./dkim.ts";
import { DeliveryWorkers } from "./worker.ts";

export interface DeliveryDeps {
  config: Config;
  bus: Bus;
  actors: ActorSystem;
  accounts: AccountService;
  content: ContentStore;
  secrets: ServerSecrets;
  clock: Clock;
  log: Logger;
  /** false only where DKIM off is measured (tests/bench/delivery-child.ts); the relay never sets it. */
  sign?: false;
  metrics?: DeliveryRecorder;
}

/** The VERP key: configured, or derived from the data dir's HMAC key (stable across restarts). */
export function verpKeyOf(config: Config, secrets: ServerSecrets): string {
  return config.verpKey ?? createHmac("sha256", secrets.hmacKey).update("petrel verp v1").digest("base64url");
}

export async function startDeliveryWorkers(d: DeliveryDeps): Promise<{ close(): Promise<void> }> {
  const { config, log } = d;
  const verpKey = verpKeyOf(config, d.secrets);
  const timeoutMs = config.deliveryTimeoutSeconds * 1000;
  const dkim = config.dkimThreads > 0 ? new DkimPool(config.dkimThreads) : undefined;
  const workers = new DeliveryWorkers({
    bus: d.bus,
    actors: d.actors,
    resolver: createResolver({ servers: config.dnsServers }),
    content: d.content,
    // A deleted domain is undefined; any other failure (actor not answering) throws: either way
    // the attempt is deferred, never sent unsigned (attempt.ts).
    sendingDomain: (accountId, domain) =>
      d.accounts.sendingDomain(accountId, domain).catch((e: unknown) => {
        if ((e as { code?: string }).code === "domain_not_found") return undefined;
        throw e;
      }),
    ...(dkim ? { signer: dkim.sign } : {}),
    reuseSignatures: config.deliveryBatchRecipients > 1,
    ...(d.sign === false ? { sign: false } : {}),
    verpKey,
    port: config.smtpOutPort,
    pool: {
      name: smtpName(config),
      connectionTimeoutMs: Math.max(1000, timeoutMs / 10),
      greetingTimeoutMs: timeoutMs,
      socketTimeoutMs: timeoutMs,
      idleMs: 5_000,
      rejectUnauthorized: false,
      // A connection's slot lapses with the domain's slot lease it was opened under.
      leaseMs: domainOptionsFromConfig(config).leaseMs,
    },
    // The node's attempts in flight: 200 transmitting, and the prefetched ones waiting for them.
    maxInFlight: 200 * (1 + config.deliveryPrefetch),
    // …and the message bytes they hold: large messages wait rather than fill the memory.
    maxHeldBytes: config.deliveryMaxHeldBytes,
    now: () => d.clock.now(),
    log: log.child({ component: "delivery" }),
    ...(d.metrics ? { metrics: d.metrics } : {}),
  });
  await workers.start();
  return {
    async close() {
      await workers.stop();
      await dkim?.close();
    },
  };
}
