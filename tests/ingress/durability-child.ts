/**
 * The relay process of the durability test: the whole relay (relay.ts) on the
 * data dir in PETREL_DATA_DIR, with an account, an SMTP user and a trusted sending domain created
 * on the first start (credentials in `<dataDir>/creds.json`). Prints `READY <587> <465>` once the
 * listeners are up; the test kills it with SIGKILL at random moments.
 * For the power-cut test (power-cut.test.ts), two switches outside PETREL_ (which the relay
 * refuses): CHILD_NO_DELIVERY=1 starts it without delivery workers, CHILD_PRINT_DELIVERED=1
 * prints `DELIVERED <messageId> <recipient>` for every Delivered event on the bus.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startRelay } from "../../relay.ts";
import { loadConfig } from "../../shared/config/load.ts";
import { createLogger } from "../../shared/log.ts";
import { STATUS_EVENTS_TOPIC, type StatusEvent } from "../../shared/model/event.ts";
import { domainFixture } from "../account/fixtures.ts";

const config = loadConfig(process.env);
const log = createLogger(config.logLevel);
const relay = await startRelay(
  config,
  log,
  process.env.CHILD_NO_DELIVERY === "1" ? { jobs: { delivery: false } } : {},
);
const credsPath = join(config.dataDir, "creds.json");
if (!existsSync(credsPath)) {
  const acct = await relay.accounts.createAccount({
    name: "Durable",
    plan: "business",
    accountId: "durable",
  });
  await relay.accounts.addDomain(acct.accountId, domainFixture("shop.example"));
  await relay.accounts.trustDomain(acct.accountId, "shop.example", "test");
  const user = await relay.accounts.createSmtpUser(acct.accountId, { name: "app" });
  writeFileSync(credsPath, JSON.stringify({ username: user.username, password: user.password }));
}
if (process.env.CHILD_PRINT_DELIVERED === "1")
  await relay.bus.subscribe({
    group: "test-delivered",
    topics: [STATUS_EVENTS_TOPIC],
    fromBeginning: true,
    handler: async (r) => {
      const e = JSON.parse(new TextDecoder().decode(r.value)) as StatusEvent;
      if (e.status === "Delivered") process.stdout.write(`DELIVERED ${e.messageId} ${e.recipient}\n`);
    },
  });
process.stdout.write(`READY ${relay.ingress.ports.submission} ${relay.ingress.ports.smtps}\n`);
process.once("SIGTERM", () => {
  relay.stop().finally(() => process.exit(0));
});
