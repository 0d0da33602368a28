/**
 * Start-up of the delivery side in the relay (issue 5): the delivery workers and the delayed-
 * bounce listener, from the one config. A bounce port that cannot be bound (port 25 without the
 * privilege, or taken) is logged loudly and does not stop the relay: delivery still works, only
 * delayed bounces (D7) are not received.
 */
import { createHmac } from "node:crypto";
import type { AccountService } from "../../actors/account/service.ts";
import type { Clock } from "../../actors/clock.ts";
import type { DomainOptions } from "../../actors/domain/behavior.ts";
import type { ActorSystem } from "../../actors/system.ts";
import { BounceListener } from "../bounce/listener.ts";
import type { Bus } from "../bus/types.ts";
import type { Config } from "../config/schema.ts";
import type { ContentStore } from "../content/store.ts";
import type { DirectoryView } from "../directory/view.ts";
import { createResolver } from "../domains/verify.ts";
import type { Logger } from "../log.ts";
import type { ServerSecrets } from "../security/secrets.ts";
import { DkimPool } from "./dkim.ts";
import { DeliveryWorkers } from "./worker.ts";

export interface DeliveryDeps {
  config: Config;
  bus: Bus;
  actors: ActorSystem;
  accounts: AccountService;
  directory: DirectoryView;
  content: ContentStore;
  secrets: ServerSecrets;
  clock: Clock;
  log: Logger;
  /** false only where DKIM off is measured (tests/bench/delivery-child.ts); the relay never sets it. */
  sign?: false;
}

/** The domain actors' options from the one config (D5, D6): shared by the relay and the benches. */
export function domainOptionsFromConfig(config: Config): Partial<DomainOptions> {
  return {
    partitions: config.partitions,
    concurrency: config.deliveryConcurrency,
    maxRetryMs: config.deliveryMaxRetryHours * 3_600_000,
    // A slot lease outlives the longest attempt (greeting + MAIL/RCPT + DATA timeouts).
    leaseMs: Math.max(10 * 60_000, config.deliveryTimeoutSeconds * 4_000),
    backoff: {
      baseMs: config.deliveryBackoffBaseSeconds * 1000,
      maxMs: config.deliveryBackoffMaxSeconds * 1000,
      jitter: 0.2,
    },
  };
}

export interface DeliveryHandle {
  bouncePort: number | undefined;
  stop(): Promise<void>;
}

/** The VERP key: configured, or derived from the data dir's HMAC key (stable across restarts). */
export function verpKeyOf(config: Config, secrets: ServerSecrets): string {
  return config.verpKey ?? createHmac("sha256", secrets.hmacKey).update("petrel verp v1").digest("base64url");
}

export async function startDelivery(d: DeliveryDeps): Promise<DeliveryHandle> {
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
    ...(d.sign === false ? { sign: false } : {}),
    verpKey,
    port: config.smtpOutPort,
    pool: {
      name: config.hostname,
      connectionTimeoutMs: Math.max(1000, timeoutMs / 10),
      greetingTimeoutMs: timeoutMs,
      socketTimeoutMs: timeoutMs,
      idleMs: 5_000,
      rejectUnauthorized: false,
    },
    now: () => d.clock.now(),
    log: log.child({ component: "delivery" }),
  });
  await workers.start();
  const listener = new BounceListener({
    host: config.host,
    port: config.bouncePort,
    name: config.hostname,
    verpKey,
    isReturnPathHost: (host) =>
      d.directory.sendingDomains().some((s) => s.returnPathHost.toLowerCase() === host),
    tell: (key, msg) => d.actors.tell(key, msg),
    log: log.child({ component: "bounces" }),
  });
  let bouncePort: number | undefined;
  try {
    bouncePort = await listener.start();
    log.info({ port: bouncePort }, "delayed-bounce listener started");
  } catch (e) {
    log.error(
      { err: e, port: config.bouncePort },
      "delayed-bounce listener could not start (D7 bounces are not received)",
    );
  }
  return {
    bouncePort,
    async stop() {
      if (bouncePort !== undefined) await listener.stop();
      await workers.stop();
      await dkim?.close();
    },
  };
}
