/**
 * The relay for the ingress benchmark, as main.ts composes it (relay.ts startRelay) on the
 * embedded log with every background job running — delivery workers (their DNS pointed at a dead
 * port by the bench, so each recipient is tried and deferred), analytics sink, edge directory,
 * bounce listener, content janitor, domain verifier — as `npm start` runs it.
 * `BENCH_JOBS_OFF=delivery,sink` leaves the named jobs out (for an A/B of what they cost; not the
 * acceptance figure). Prints `READY <587> <465>`; SIGTERM stops it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type JobName, startRelay } from "../../relay.ts";
import { loadConfig } from "../../shared/config/load.ts";
import { createLogger } from "../../shared/log.ts";
import { domainFixture } from "../account/fixtures.ts";
import { dkimKey } from "../delivery/harness.ts";

const config = loadConfig(process.env);
const log = createLogger(config.logLevel);
const off = (process.env.BENCH_JOBS_OFF ?? "").split(",").filter(Boolean) as JobName[];
const relay = await startRelay(config, log, {
  jobs: Object.fromEntries(off.map((j) => [j, false])),
});
const { accounts } = relay;
const acct = await accounts.createAccount({ name: "Bench", plan: "business", accountId: "bench" });
// Real 2048-bit RSA keys: with live delivery (BENCH_DELIVER=sink) every message is signed (D3).
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
process.stdout.write(`READY ${relay.ingress.ports.submission} ${relay.ingress.ports.smtps}\n`);
process.once("SIGTERM", () => {
  void relay.stop().then(() => process.exit(0));
});
