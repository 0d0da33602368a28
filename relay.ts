/**
 * The composition root: the one function that wires a relay from its parts. main.ts and
 * main.deno.ts (plus the HTTP listener and signals), the benchmarks and the relay-level tests all
 * call `startRelay`; nothing else copies this wiring. It opens the bus, the analytics store, the
 * actor system, the directory view, the content store and the SMTP listeners in order, then starts
 * every background job from one list (JOBS), reports readiness, and closes all in reverse.
 */
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { withAcceptedEvents } from "./actors/accepted.ts";
import { createAccountBehavior } from "./actors/account/behavior.ts";
import { AccountService } from "./actors/account/service.ts";
import { createSuppressionBehavior, type SuppressionService } from "./actors/account/suppression.ts";
import { SuppressionCheck } from "./actors/account/suppression-check.ts";
import { startDomainVerifier } from "./actors/account/verifier.ts";
import { createClientBehavior } from "./actors/client/behavior.ts";
import { SystemClock } from "./actors/clock.ts";
import { createContentBehavior } from "./actors/content/behavior.ts";
import { startContentJanitor } from "./actors/content/janitor.ts";
import { startDeliveryWorkers, verpKeyOf } from "./actors/delivery/start.ts";
import { createDomainBehavior } from "./actors/domain/behavior.ts";
import { domainOptionsFromConfig } from "./actors/domain/options.ts";
import { queueFigures } from "./actors/domain/queue.ts";
import { DOMAIN_ACTOR_TYPE } from "./actors/keys.ts";
import { createSessionBehavior } from "./actors/session/behavior.ts";
import { SessionService } from "./actors/session/service.ts";
import { ActorSystem } from "./actors/system.ts";
import type { Readiness } from "./edge-api/app.ts";
import { actorAccountPort } from "./ingress/account-port.ts";
import { startBounceListener } from "./ingress/bounce-listener.ts";
import { actorClientPort } from "./ingress/client-port.ts";
import { limitsFromConfig } from "./ingress/limits.ts";
import { type Ingress, startIngress } from "./ingress/server.ts";
import { loadTls } from "./ingress/tls.ts";
import { startEdgeDirectory } from "./shared/analytics/edge-directory.ts";
import { type Analytics, createAnalytics } from "./shared/analytics/service.ts";
import { startSink } from "./shared/analytics/sink.ts";
import { KafkaBus } from "./shared/bus/kafka/kafka-bus.ts";
import { LogBus } from "./shared/bus/log/log-bus.ts";
import type { Bus } from "./shared/bus/types.ts";
import { type ClickHouseHandle, openClickHouse } from "./shared/clickhouse/client.ts";
import { migrate } from "./shared/clickhouse/migrations.ts";
import { checkClusterSettings } from "./shared/config/load.ts";
import { type Config, smtpName } from "./shared/config/schema.ts";
import { openContentStore } from "./shared/content/open.ts";
import type { ContentStore } from "./shared/content/store.ts";
import { DirectoryView } from "./shared/directory/view.ts";
import { DiskGuard } from "./shared/disk-guard.ts";
import { createResolver } from "./shared/domains/verify.ts";
import type { Logger } from "./shared/log.ts";
import {
  contentBytesGauge,
  createMetrics,
  diskGauges,
  type Registry,
  type RelayMetrics,
  relayMetrics,
} from "./shared/metrics.ts";
import { STATUS_EVENTS_TOPIC_SPEC } from "./shared/model/event.ts";
import { loadServerSecrets, type ServerSecrets } from "./shared/security/secrets.ts";
import { SuppressionView } from "./shared/suppression/view.ts";

export const VERSION = "0.1.0";

export interface Relay {
  readonly config: Config;
  readonly nodeId: string;
  readonly bus: Bus;
  readonly clickhouse: ClickHouseHandle;
  /** Activity and Statistics reads, for /v1 (edge-api/v1/ops/analytics.ts). */
  readonly analytics: Analytics;
  readonly actors: ActorSystem;
  /** This node's view of the directory topic (SMTP users, accounts, API keys, domains). */
  readonly directory: DirectoryView;
  /** Accounts, plans, members, SMTP users, domains, API keys: what /v1 and the CLI call. */
  readonly accounts: AccountService;
  /** Dashboard sessions, held by session actors so that every node finds them (C2, X2). */
  readonly sessions: SessionService;
  /** Admin token and HMAC key (configured, or generated into the data dir on first start). */
  readonly secrets: ServerSecrets;
  readonly metrics: Registry;
  /** Message content (X1: local files in the data dir; X2: S3). */
  readonly content: ContentStore;
  /** SMTP submission listeners (S1–S14). */
  readonly ingress: Ingress;
  /** Per-account suppression lists (D8): list, add, remove; hard bounces add. */
  readonly suppression: SuppressionService;
  /** The background jobs that run, by name, with what each reports (the bounce port). */
  readonly jobs: { readonly [K in JobName]?: JobHandle };
  /** Issue 17: the free-space floor of the data dir (and the local content store's volume). */
  readonly disk: DiskGuard;
  readiness(): Readiness;
  stop(): Promise<void>;
}

/** The relay's parts that the background jobs are started from. */
export interface RelayParts {
  config: Config;
  nodeId: string;
  bus: Bus;
  clickhouse: ClickHouseHandle;
  actors: ActorSystem;
  directory: DirectoryView;
  accounts: AccountService;
  content: ContentStore;
  secrets: ServerSecrets;
  clock: SystemClock;
  log: Logger;
  options: RelayOptions;
  /** X4: the recorders the jobs report to (shared/metrics.ts). */
  recorders: RelayMetrics;
}

export interface JobHandle {
  /** The port a listening job bound (the bounce listener). */
  port?: number;
  close(): Promise<void>;
}

export interface Job {
  name: JobName;
  start(p: RelayParts): Promise<JobHandle>;
}

export type JobName = "sink" | "edgeDirectory" | "delivery" | "bounces" | "contentJanitor" | "domainVerifier";

/**
 * Every background job of a relay, in start order (stopped in reverse). A relay runs them all;
 * a benchmark may leave some out (`RelayOptions.jobs`).
 */
export const JOBS: readonly Job[] = [
  {
    // Status events → ClickHouse (A1–A6).
    name: "sink",
    start: async (p) =>
      startSink({
        bus: p.bus,
        client: p.clickhouse.client,
        partitions: p.config.partitions,
        flushMs: p.config.analyticsFlushMs,
        flushMaxMs: p.config.analyticsFlushMaxMs,
        maxBatch: 5_000,
        onError: (e) => p.log.error({ err: e }, "analytics sink error"),
        metrics: p.recorders.sink,
      }),
  },
  {
    // API keys and accounts in ClickHouse for the edge entry (edge-api/edge.ts).
    name: "edgeDirectory",
    start: async (p) =>
      startEdgeDirectory({
        bus: p.bus,
        client: p.clickhouse.client,
        partitions: p.config.partitions,
        nodeId: p.nodeId,
        accounts: p.accounts,
        onError: (e) => p.log.error({ err: e }, "edge directory writer error"),
      }),
  },
  {
    // Delivery workers (D1–D6): the attempts the domain actors hand out.
    name: "delivery",
    start: (p) =>
      startDeliveryWorkers({
        config: p.config,
        bus: p.bus,
        actors: p.actors,
        accounts: p.accounts,
        content: p.content,
        secrets: p.secrets,
        clock: p.clock,
        log: p.log,
        metrics: p.recorders.delivery,
        ...(p.options.sign === false ? { sign: false as const } : {}),
      }),
  },
  {
    // Delayed bounces (D7) on the bounce port.
    name: "bounces",
    start: (p) =>
      startBounceListener({
        host: p.config.host,
        port: p.config.bouncePort,
        name: smtpName(p.config),
        verpKey: verpKeyOf(p.config, p.secrets),
        directory: p.directory,
        actors: p.actors,
        log: p.log,
      }),
  },
  {
    // X5: deletes the content of messages whose every recipient has a final status.
    name: "contentJanitor",
    start: async (p) =>
      startContentJanitor({
        bus: p.bus,
        store: p.content,
        partitions: p.config.partitions,
        log: p.log.child({ component: "content-janitor" }),
      }),
  },
  {
    // C4: the account actors' periodic re-verification requests, checked against DNS.
    name: "domainVerifier",
    start: async (p) =>
      startDomainVerifier({
        bus: p.bus,
        actors: p.actors,
        partitions: p.config.partitions,
        resolver: createResolver({ servers: p.config.dnsServers }),
        clock: p.clock,
        log: p.log.child({ component: "domain-verifier" }),
      }),
  },
];

export interface RelayOptions {
  /** Jobs left out (`false`); every job runs unless named here. Benchmarks only. */
  jobs?: Partial<Record<JobName, boolean>>;
  /** `false` turns DKIM signing off (the delivery bench's "DKIM off" row); the relay never sets it. */
  sign?: false;
}

export async function startRelay(config: Config, log: Logger, options: RelayOptions = {}): Promise<Relay> {
  checkClusterSettings(config); // X2: no node-local secrets or chDB with Kafka
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const embedded = config.kafkaBrokers.length === 0;
  // Embedded: one node, a stable id so its reply topic is reused across restarts.
  const nodeId = config.nodeId ?? (embedded ? "local" : `${hostname()}-${process.pid}`);
  const checks = { bus: false, clickhouse: false, actors: false, stopping: false };
  const closers: (() => Promise<void>)[] = [];
  const secrets = loadServerSecrets(dataDir, { adminToken: config.adminToken, hmacKey: config.hmacKey });
  if (secrets.generated)
    log.warn(
      { path: secrets.path },
      "generated secrets into the data dir (set PETREL_ADMIN_TOKEN, PETREL_HMAC_KEY)",
    );

  try {
    const bus: Bus = embedded
      ? await LogBus.open({ dir: join(dataDir, "bus") })
      : new KafkaBus({ brokers: config.kafkaBrokers, clientId: `petrel-${nodeId}` });
    closers.push(() => bus.close());
    checks.bus = true;
    log.info({ bus: bus.kind, nodeId }, "bus open");

    const clickhouse = await openClickHouse({
      url: config.clickhouseUrl,
      dataDir,
      database: config.clickhouseDatabase,
      ...(config.clickhouseUser ? { username: config.clickhouseUser } : {}),
      ...(config.clickhousePassword ? { password: config.clickhousePassword } : {}),
    });
    closers.push(() => clickhouse.close());
    const migrated = await migrate(clickhouse.client);
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
    // Recipient-domain actors (slots, retries) and per-account suppression lists.
    // S11: each record's Accepted event leaves with its domain actor's turn (actors/accepted.ts).
    actors.register(withAcceptedEvents(createDomainBehavior(domainOptionsFromConfig(config))));
    actors.register(createSuppressionBehavior());
    // X5: the content ledger (which message's recipients are all final).
    actors.register(createContentBehavior({ partitions: config.partitions }));
    // Client IPs: the S3 block and the S4 per-IP connection leases, on every node at once.
    actors.register(createClientBehavior());
    // Dashboard sessions (C2), found by every node (X2).
    actors.register(createSessionBehavior());
    await actors.start();
    closers.push(() => actors.stop());
    const directory = new DirectoryView({
      bus,
      nodeId,
      onError: (e) => log.error({ err: e }, "directory view error"),
    });
    closers.push(() => directory.close());
    await directory.ready();
    // S1: the SMTP listeners' pair; its fingerprint goes into the connection settings (issue 14).
    const tls = await loadTls({
      dataDir,
      hostname: smtpName(config),
      tlsKey: config.tlsKey,
      tlsCert: config.tlsCert,
    });
    if (tls.generated)
      log.warn({ dir: join(dataDir, "tls") }, "generated a self-signed TLS certificate for SMTP");
    const accounts = new AccountService({
      actors,
      plans: config.plans,
      hmacKey: secrets.hmacKey,
      directory,
      clock,
      connection: {
        // Only a configured name: the machine's own name is no address customers can reach.
        ...(config.hostname ? { server: config.hostname } : {}),
        ports: [
          { port: config.submissionPort, encryption: "STARTTLS" },
          { port: config.smtpsPort, encryption: "TLS" },
        ],
        certificate: { sha256: tls.sha256, selfSigned: tls.selfSigned },
      },
    });
    const sessions = new SessionService({ actors, accounts, now: () => clock.now() });
    checks.actors = true;
    log.info({ partitions: config.partitions }, "actor system started");

    const metrics = createMetrics();
    // SMTP submission (S1–S14), after the actors and the directory it relies on.
    // X1 local files in the data dir, or X2 S3 when PETREL_S3_BUCKET is set.
    const content = await openContentStore(config, dataDir);
    closers.push(() => content.close());
    // A local store sums its segment sizes in memory (cheap); an S3 store lists objects (sampled).
    contentBytesGauge(metrics, content, config.s3Bucket ? 30_000 : 0);
    // Issue 17: below the free-space floor new messages get 452 4.3.1 (Postfix's queue_minfree).
    const disk = new DiskGuard({
      volumes: [
        { name: "data", path: dataDir },
        ...(config.s3Bucket ? [] : [{ name: "content", path: join(dataDir, "content") }]),
      ],
      floorBytes: config.diskMinFreeBytes,
      intervalMs: config.diskCheckIntervalMs,
      clock,
      log: log.child({ component: "disk-guard" }),
    });
    await disk.start();
    closers.push(async () => disk.close());
    diskGauges(metrics, disk);
    await bus.ensureTopics([STATUS_EVENTS_TOPIC_SPEC(config.partitions)]);
    const limits = limitsFromConfig(config);
    // X4: every stage's series; the gauges read the queues, the bus and the sessions at scrape time.
    let openSessions = () => 0;
    const recorders = relayMetrics(metrics, {
      queues: () => queueFigures(actors.liveStates(DOMAIN_ACTOR_TYPE)),
      consumerLag: () => bus.consumerLag(),
      openSessions: () => openSessions(),
      now: () => clock.now(),
    });
    const suppression = accounts.suppressions;
    // S9: recipients looked up in this node's view of the suppression lists (issue 16).
    const suppressions = new SuppressionView({
      bus,
      nodeId,
      onError: (e) => log.error({ err: e }, "suppression view error"),
    });
    closers.push(() => suppressions.close());
    await suppressions.ready();
    const suppressionCheck = new SuppressionCheck(suppressions, suppression);
    // S8 quota and S4 session slots from this node's credit (issue 16); unused credit is handed
    // back at stop, after the listeners closed (closers run in reverse).
    const accountPort = actorAccountPort(actors, {
      ...limits,
      nodeId,
      now: () => clock.now(),
      mayUse: (accountId) => directory.account(accountId)?.sendingAllowed ?? false,
      onError: (e) => log.warn({ err: e }, "S4/S8: credit hand-back or renew failed (quota, session slots)"),
    });
    closers.push(() => accountPort.close());
    const ingress = await startIngress({
      host: config.host,
      submissionPort: config.submissionPort,
      smtpsPort: config.smtpsPort,
      tls,
      nodeId,
      hostname: smtpName(config),
      limits,
      directory,
      authenticate: (u, p) => accounts.authenticateSmtp(u, p),
      accounts: accountPort,
      clients: actorClientPort(actors, limits),
      actors,
      bus,
      store: content,
      storage: disk,
      log: log.child({ component: "ingress" }),
      now: () => clock.now(),
      // S9 / D8: suppressed recipients are accepted at SMTP, logged Rejected, not delivered.
      suppressions: () => suppressionCheck.at(),
      metrics,
      refusals: recorders.ingress,
      closeTimeoutMs: config.shutdownGraceMs,
    });
    closers.push(() => ingress.close());
    openSessions = () => ingress.handlers.openSessions;

    const parts: RelayParts = {
      config,
      nodeId,
      bus,
      clickhouse,
      actors,
      directory,
      accounts,
      content,
      secrets,
      clock,
      log,
      options,
      recorders,
    };
    const jobs: { [K in JobName]?: JobHandle } = {};
    for (const job of JOBS) {
      if (options.jobs?.[job.name] === false) continue;
      const handle = await job.start(parts);
      jobs[job.name] = handle;
      closers.push(() => handle.close());
    }
    log.info({ jobs: Object.keys(jobs) }, "background jobs started");

    let stopping: Promise<void> | undefined;
    return {
      config,
      nodeId,
      bus,
      clickhouse,
      analytics: createAnalytics(clickhouse.client),
      actors,
      directory,
      accounts,
      sessions,
      secrets,
      metrics,
      content,
      ingress,
      suppression,
      jobs,
      disk,
      readiness: () => {
        const all = { ...checks, disk: disk.ok };
        const up = checks.bus && checks.clickhouse && checks.actors && !checks.stopping;
        return {
          ready: up && disk.ok,
          checks: all,
          ...(up && !disk.ok ? { status: "insufficient_storage" } : {}),
          disk: disk.status(),
        };
      },
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
