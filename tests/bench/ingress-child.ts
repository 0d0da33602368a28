/**
 * Ingress for the benchmark: the relay as main.ts composes it (relay.ts startRelay) on the
 * embedded log, with the background jobs left out (no delivery workers, bounce listener, analytics
 * sink, edge directory or domain verifier) — the durable accept path of S11 in full (the delivery
 * side is measured by bench:delivery). The domain actors still take the records.
 * Prints `READY <587> <465>`; SIGTERM stops it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startRelay } from "../../relay.ts";
import { loadConfig } from "../../shared/config/load.ts";
import { createLogger } from "../../shared/log.ts";
import { domainFixture } from "../account/fixtures.ts";

const config = loadConfig(process.env);
const log = createLogger(config.logLevel);
const relay = await startRelay(config, log, {
  jobs: { sink: false, edgeDirectory: false, delivery: false, bounces: false, domainVerifier: false },
});
const { accounts } = relay;
const acct = await accounts.createAccount({ name: "Bench", plan: "business", accountId: "bench" });
await accounts.addDomain(acct.accountId, domainFixture("shop.example"));
await accounts.trustDomain(acct.accountId, "shop.example", "bench");
const user = await accounts.createSmtpUser(acct.accountId, { name: "app" });
writeFileSync(
  join(config.dataDir, "creds.json"),
  JSON.stringify({ username: user.username, password: user.password }),
);
process.stdout.write(`READY ${relay.ingress.ports.submission} ${relay.ingress.ports.smtps}\n`);
process.once("SIGTERM", () => {
  void relay.stop().then(() => process.exit(0));
});
