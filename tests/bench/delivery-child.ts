/**
 * The Petrel side of the delivery benchmark (issue 5 "Measure"): ingress (STARTTLS + AUTH, the
 * durable accept of S11 on the embedded log), the account, domain and suppression actors, and
 * the delivery workers (D1–D3) resolving MX through PETREL_DNS_SERVERS and delivering to
 * PETREL_SMTP_OUT_PORT (shared/delivery/start.ts, as the relay starts them) — composed as
 * shared/runtime/relay.ts does, minus the analytics sink (ClickHouse) and the HTTP API, plus one
 * switch the relay does not expose: BENCH_DKIM=0 turns signing off (the "DKIM off" row). The sending domain has real 2048-bit
 * RSA keys. Prints `READY <587>`; SIGTERM stops it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAccountBehavior } from "../../actors/account/behavior.ts";
import { AccountService } from "../../actors/account/service.ts";
import { createSuppressionBehavior, SuppressionService } from "../../actors/account/suppression.ts";
import { SystemClock } from "../../actors/clock.ts";
import { createDomainBehavior } from "../../actors/domain/behavior.ts";
import { ActorSystem } from "../../actors/system.ts";
import { actorAccountPort } from "../../ingress/account-port.ts";
import { limitsFromConfig } from "../../ingress/limits.ts";
import { startIngress } from "../../ingress/server.ts";
import { loadTls } from "../../ingress/tls.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { loadConfig } from "../../shared/config/load.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { domainOptionsFromConfig, startDelivery } from "../../shared/delivery/start.ts";
import { DirectoryView } from "../../shared/directory/view.ts";
import { createLogger } from "../../shared/log.ts";
import { STATUS_EVENTS_TOPIC } from "../../shared/model/event.ts";
import { loadServerSecrets } from "../../shared/security/secrets.ts";
import { domainFixture } from "../account/fixtures.ts";
import { dkimKey } from "../delivery/harness.ts";

const config = loadConfig(process.env);
const log = createLogger(config.logLevel);
const clock = new SystemClock();
const bus = await LogBus.open({ dir: join(config.dataDir, "bus") });
const actors = new ActorSystem({
  bus,
  nodeId: "local",
  clock,
  partitions: config.partitions,
  localAsk: true,
});
actors.register(
  createAccountBehavior({ partitions: config.partitions, retentionDays: 90, reverifyHours: 24 }),
);
actors.register(createDomainBehavior(domainOptionsFromConfig(config)));
actors.register(createSuppressionBehavior());
await actors.start();
const directory = await DirectoryView.open({ bus, nodeId: "local" });
const accounts = new AccountService({
  actors,
  plans: config.plans,
  hmacKey: new Uint8Array(32).fill(3),
  directory,
  clock,
});
const acct = await accounts.createAccount({ name: "Bench", plan: "business", accountId: "bench" });
await accounts.addDomain(acct.accountId, {
  ...domainFixture("shop.example"),
  dkim: [dkimKey("pt1"), dkimKey("pt2")],
});
await accounts.trustDomain(acct.accountId, "shop.example", "bench");
const user = await accounts.createSmtpUser(acct.accountId, { name: "app" });
writeFileSync(
  join(config.dataDir, "creds.json"),
  JSON.stringify({ username: user.username, password: user.password }),
);
await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: config.partitions }]);
const limits = limitsFromConfig(config);
const content = await LocalContentStore.open(join(config.dataDir, "content"));
const suppressions = new SuppressionService(actors);
const ingress = await startIngress({
  host: config.host,
  submissionPort: config.submissionPort,
  smtpsPort: config.smtpsPort,
  tls: await loadTls({ dataDir: config.dataDir, hostname: config.hostname }),
  nodeId: "local",
  hostname: config.hostname,
  limits,
  directory,
  authenticate: (u, p) => accounts.authenticateSmtp(u, p),
  accounts: actorAccountPort(actors, limits),
  actors,
  bus,
  store: content,
  log,
  now: () => clock.now(),
  // The relay checks every recipient against the account's suppression list (S9): so does the bench.
  isSuppressed: (accountId, address) => suppressions.has(accountId, address),
  closeTimeoutMs: 1_000,
});
const delivery = await startDelivery({
  config,
  bus,
  actors,
  accounts,
  directory,
  content,
  secrets: loadServerSecrets(config.dataDir),
  clock,
  log,
  ...(process.env.BENCH_DKIM === "0" ? { sign: false as const } : {}),
});
process.stdout.write(`READY ${ingress.ports.submission}\n`);
process.once("SIGTERM", () => {
  void (async () => {
    await ingress.close();
    await delivery.stop();
    await directory.close();
    await actors.stop();
    await bus.close();
    process.exit(0);
  })();
});
