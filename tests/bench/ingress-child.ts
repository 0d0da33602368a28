/**
 * Ingress alone for the benchmark: the embedded log, the actor system with the account actor,
 * the directory view, the local content store and both listeners — the durable accept path of
 * S11 in full, with nothing consuming the records (the delivery side is measured elsewhere).
 * Prints `READY <587> <465>`; SIGTERM stops it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAccountBehavior } from "../../actors/account/behavior.ts";
import { AccountService } from "../../actors/account/service.ts";
import { createSuppressionBehavior, SuppressionService } from "../../actors/account/suppression.ts";
import { SystemClock } from "../../actors/clock.ts";
import { ActorSystem } from "../../actors/system.ts";
import { actorAccountPort } from "../../ingress/account-port.ts";
import { limitsFromConfig } from "../../ingress/limits.ts";
import { startIngress } from "../../ingress/server.ts";
import { loadTls } from "../../ingress/tls.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { loadConfig } from "../../shared/config/load.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { DirectoryView } from "../../shared/directory/view.ts";
import { createLogger } from "../../shared/log.ts";
import { STATUS_EVENTS_TOPIC } from "../../shared/model/event.ts";
import { domainFixture } from "../account/fixtures.ts";

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
actors.register(createSuppressionBehavior());
await actors.start();
const directory = await DirectoryView.open({ bus, nodeId: "local" });
const hmacKey = new Uint8Array(32).fill(3);
const accounts = new AccountService({ actors, plans: config.plans, hmacKey, directory, clock });
const acct = await accounts.createAccount({ name: "Bench", plan: "business", accountId: "bench" });
await accounts.addDomain(acct.accountId, domainFixture("shop.example"));
await accounts.trustDomain(acct.accountId, "shop.example", "bench");
const user = await accounts.createSmtpUser(acct.accountId, { name: "app" });
writeFileSync(
  join(config.dataDir, "creds.json"),
  JSON.stringify({ username: user.username, password: user.password }),
);
await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: config.partitions }]);
const limits = limitsFromConfig(config);
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
  store: await LocalContentStore.open(join(config.dataDir, "content")),
  log,
  now: () => clock.now(),
  // The relay checks every recipient against the account's suppression list (S9): so does the bench.
  isSuppressed: (accountId, address) => suppressions.has(accountId, address),
  closeTimeoutMs: 1_000,
});
process.stdout.write(`READY ${ingress.ports.submission} ${ingress.ports.smtps}\n`);
process.once("SIGTERM", () => {
  void (async () => {
    await ingress.close();
    await directory.close();
    await actors.stop();
    await bus.close();
    process.exit(0);
  })();
});
