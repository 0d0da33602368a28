/**
 * The Petrel side of the delivery benchmark (issue 5 "Measure"): ingress (STARTTLS + AUTH, the
 * durable accept of S11 on the embedded log), the account, domain and suppression actors, and
 * the delivery workers (D1–D3) resolving MX through PETREL_DNS_SERVERS and delivering to
 * PETREL_SMTP_OUT_PORT — the relay as main.ts composes it (relay.ts startRelay), minus the
 * analytics sink, edge directory, bounce listener and domain verifier jobs and the HTTP API, plus
 * one switch the relay does not expose: BENCH_DKIM=0 turns signing off (the "DKIM off" row). The sending domain has real 2048-bit
 * RSA keys. Prints `READY <587>`; SIGTERM stops it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startRelay } from "../../relay.ts";
import { loadConfig } from "../../shared/config/load.ts";
import { createLogger } from "../../shared/log.ts";
import { domainFixture } from "../account/fixtures.ts";
import { dkimKey } from "../delivery/harness.ts";

const config = loadConfig(process.env);
const log = createLogger(config.logLevel);
const relay = await startRelay(config, log, {
  jobs: { sink: false, edgeDirectory: false, bounces: false, domainVerifier: false },
  ...(process.env.BENCH_DKIM === "0" ? { sign: false as const } : {}),
});
const { accounts } = relay;
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
process.stdout.write(`READY ${relay.ingress.ports.submission}\n`);
process.once("SIGTERM", () => {
  void relay.stop().then(() => process.exit(0));
});
