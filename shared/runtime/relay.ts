/**
 * The relay as one object: opens the bus, the analytics store and the actor system in order,
 * reports readiness, and closes them in reverse. Runtime-neutral: the Node and Deno entries
 * (main.ts, main.deno.ts) only add the HTTP listener and signal handling.
 */
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { createAccountBehavior } from "../../actors/account/behavior.ts";
import { AccountService } from "../../actors/account/service.ts";
import { createSuppressionBehavior, SuppressionService } from "../../actors/account/suppression.ts";
import { SystemClock } from "../../actors/clock.ts";
import { createDomainBehavior } from "../../actors/domain/behavior.ts";
import { ActorSystem } from "../../actors/system.ts";
import { actorAccountPort } from "../../ingress/account-port.ts";
import { limitsFromConfig } from "../../ingress/limits.ts";
import { type Ingress, startIngress } from "../../ingress/server.ts";
import { loadTls } from "../../ingress/tls.ts";
import { startEdgeDirectory } from "../analytics/edge-directory.ts";
import { type Analytics, createAnalytics } from "../analytics/service.ts";
import { type EventSink, startSink } from "../analytics/sink.ts";
import { KafkaBus } from "../bus/kafka/kafka-bus.ts";
import { LogBus } from "../bus/log/log-bus.ts";
import type { Bus } from "../bus/types.ts";
import { type ClickHouseHandle, openClickHouse } from "../clickhouse/client.ts";
import { migrate } from "../clickhouse/migrations.ts";
import type { Config } from "../config/schema.ts";
import { LocalContentStore } from "../content/local.ts";
import type { ContentStore } from "../content/store.ts";
import { type DeliveryHandle, domainOptionsFromConfig, startDelivery } from "../delivery/start.ts";
import { DirectoryView } from "../directory/view.ts";
import type { Logger } from "../log.ts";
import { createMetrics, type Registry } from "../metrics.ts";
import { STATUS_EVENTS_TOPIC } from "../model/event.ts";
import { loadServerSecrets, type ServerSecrets } from "../security/secrets.ts";

export const VERSION = "0.1.0";

export interface Relay {
  readonly config: Config;
  readonly nodeId: string;
  readonly bus: Bus;
  readonly clickhouse: ClickHouseHandle;
  /** Status events → ClickHouse (issue 6). */
  readonly sink: EventSink;
  /** Activity and Statistics reads, for /v1 (edge-api/v1/ops/analytics.ts). */
  readonly analytics: Analytics;
  readonly actors: ActorSystem;
  /** This node's view of the directory topic (SMTP users, accounts, API keys, domains). */
  readonly directory: DirectoryView;
  /** Accounts, plans, members, SMTP users, domains, API keys: what /v1 and the CLI call. */
  readonly accounts: AccountService;
  /** Admin token and HMAC key (generated into the data dir on first start). */
  readonly secrets: ServerSecrets;
  readonly metrics: Registry;
  /** Message content (X1: local files in the data dir). */
  readonly content: ContentStore;
  /** SMTP submission listeners (issue 4, S1–S14). */
  readonly ingress: Ingress;
  /** Per-account suppression lists (D8): list, add, remove; hard bounces add. */
  readonly suppression: SuppressionService;
  readiness(): { ready: boolean; checks: Record<string, boolean> };
  stop(): Promise<void>;
}

export async function startRelay(config: Config, log: Logger): Promise<Relay> {
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const embedded = config.kafkaBrokers.length === 0;
  // Embedded: one node, a stable id so its reply topic is reused across restarts.
  const nodeId = config.nodeId ?? (embedded ? "local" : `${hostname()}-${process.pid}`);
  const checks = { bus: false, clickhouse: false, actors: false, stopping: false };
  const closers: (() => Promise<void>)[] = [];
  const secrets = loadServerSecrets(dataDir, config.adminToken);
  if (secrets.generated) log.warn({ path: secrets.path }, "generated the admin token and HMAC key");

  try {
    const bus: Bus = embedded
      ? await LogBus.open({ dir: join(dataDir, "bus") })
      : new KafkaBus({ brokers: config.kafkaBrokers, clientId: `petrel-${nodeId}` });
    closers.push(() => bus.close());
    checks.bus = true;
    log.info({ bus: bus.kind, nodeId }, "bus open");

    const clickhouse = await openClickHouse({ url: config.clickhouseUrl, dataDir });
    closers.push(() => clickhouse.close());
    const migrated = await migrate(clickhouse.client);
    const sink = await startSink({
      bus,
      client: clickhouse.client,
      partitions: config.partitions,
      onError: (e) => log.error({ err: e }, "analytics sink error"),
    });
    closers.push(() => sink.close());
    checks.clickhouse = true;
    log.info(
      {
        clickhouse: clickhouse.backend,
        schemaVersion: migrated.version,
        applied: migrated.applied.map((m) => m.name),
      },
      "analytics store ready",
    );

    const clock = new SystemClock();
    const actors = new ActorSystem({
      bus,
      nodeId,
      clock,
      partitions: config.partitions,
      localAsk: embedded,
      onError: (e, context) => log.error({ err: e, context }, "actor runtime error"),
    });
    actors.register(
      createAccountBehavior({
        partitions: config.partitions,
        retentionDays: config.accountRetentionDays,
        reverifyHours: config.domainReverifyHours,
      }),
    );
    // Issue 5: recipient-domain actors (slots, retries) and per-account suppression lists.
    actors.register(createDomainBehavior(domainOptionsFromConfig(config)));
    actors.register(createSuppressionBehavior());
    await actors.start();
    closers.push(() => actors.stop());
    const directory = new DirectoryView({
      bus,
      nodeId,
      onError: (e) => log.error({ err: e }, "directory view error"),
    });
    closers.push(() => directory.close());
    await directory.ready();
    const accounts = new AccountService({
      actors,
      plans: config.plans,
      hmacKey: secrets.hmacKey,
      directory,
      clock,
      connection: {
        server: config.hostname,
        ports: [
          { port: config.submissionPort, encryption: "STARTTLS" },
          { port: config.smtpsPort, encryption: "TLS" },
        ],
      },
    });
    // The edge directory (edge-api/edge.ts reads it): API keys and accounts in ClickHouse.
    const edgeDirectory = await startEdgeDirectory({
      bus,
      client: clickhouse.client,
      partitions: config.partitions,
      nodeId,
      accounts,
      onError: (e) => log.error({ err: e }, "edge directory writer error"),
    });
    closers.push(() => edgeDirectory.close());
    checks.actors = true;
    log.info({ partitions: config.partitions }, "actor system started");

    const metrics = createMetrics();
    // Issue 4: SMTP submission (S1–S14), after the actors and the directory it relies on.
    const content = await LocalContentStore.open(join(dataDir, "content"));
    await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: config.partitions }]);
    const tls = await loadTls({
      dataDir,
      hostname: config.hostname,
      tlsKey: config.tlsKey,
      tlsCert: config.tlsCert,
    });
    if (tls.generated)
      log.warn({ dir: join(dataDir, "tls") }, "generated a self-signed TLS certificate for SMTP");
    const limits = limitsFromConfig(config);
    const suppressions = new SuppressionService(actors);
    const ingress = await startIngress({
      host: config.host,
      submissionPort: config.submissionPort,
      smtpsPort: config.smtpsPort,
      tls,
      nodeId,
      hostname: config.hostname,
      limits,
      directory,
      authenticate: (u, p) => accounts.authenticateSmtp(u, p),
      accounts: actorAccountPort(actors, limits),
      actors,
      bus,
      store: content,
      log: log.child({ component: "ingress" }),
      now: () => clock.now(),
      // S9 / D8: suppressed recipients are accepted at SMTP, logged Rejected, not delivered.
      isSuppressed: (accountId, address) => suppressions.has(accountId, address),
      metrics,
      closeTimeoutMs: config.shutdownGraceMs,
    });
    closers.push(() => ingress.close());

    // Issue 5: delivery workers and the delayed-bounce listener (D1–D7).
    const delivery: DeliveryHandle = await startDelivery({
      config,
      bus,
      actors,
      accounts,
      directory,
      content,
      secrets,
      clock,
      log,
    });
    closers.push(() => delivery.stop());

    let stopping: Promise<void> | undefined;
    return {
      config,
      nodeId,
      bus,
      clickhouse,
      sink,
      analytics: createAnalytics(clickhouse.client),
      actors,
      directory,
      accounts,
      secrets,
      metrics,
      content,
      ingress,
      suppression: new SuppressionService(actors),
      readiness: () => ({
        ready: checks.bus && checks.clickhouse && checks.actors && !checks.stopping,
        checks,
      }),
      stop: () => {
        checks.stopping = true;
        stopping ??= closeAll(closers, log);
        return stopping;
      },
    };
  } catch (e) {
    await closeAll(closers, log);
    throw e;
  }
}

async function closeAll(closers: (() => Promise<void>)[], log: Logger): Promise<void> {
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch (e) {
      log.error({ err: e }, "error during shutdown");
    }
  }
}
