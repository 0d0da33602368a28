/**
 * `npm run cluster:local -- --nodes N` (O5): a local Petrel cluster on loopback — Kafka, SeaweedFS
 * (S3), a ClickHouse endpoint and N relay nodes with shared settings; the PETREL_* settings of this
 * process's environment go to every node (they win over the generated ones). Prints one JSON line
 * {"nodes":[{"id","smtp","smtps","http","bounce","pid"}...],"adminToken","settings"} once every node
 * is ready; stops everything on SIGINT/SIGTERM. Progress goes to stderr.
 */
import { parseArgs } from "node:util";
import { type ClusterNode, startNode } from "./node.ts";
import { startClusterServices } from "./services.ts";

const { values } = parseArgs({
  options: { nodes: { type: "string", default: "2" }, help: { type: "boolean", short: "h" } },
  allowPositionals: false,
});
if (values.help) {
  process.stdout.write("usage: npm run cluster:local -- [--nodes N]   (N from 1 to 9; default 2)\n");
  process.exit(0);
}
const n = Number(values.nodes);
if (!Number.isInteger(n) || n < 1 || n > 9) {
  process.stderr.write(`cluster:local: --nodes must be a whole number from 1 to 9 (got ${values.nodes})\n`);
  process.exit(64);
}
const say = (line: string) => process.stderr.write(`[cluster:local] ${line}\n`);
const own = Object.fromEntries(
  Object.entries(process.env).filter(
    (e): e is [string, string] => e[0].startsWith("PETREL_") && e[1] !== undefined,
  ),
);
const services = await startClusterServices({
  ...(own.PETREL_KAFKA_BROKERS ? { kafkaBrokers: own.PETREL_KAFKA_BROKERS } : {}),
  log: say,
});
const settings = { ...services.settings, ...own };
const nodes: ClusterNode[] = [];
let stopping = false;
const stopAll = async (code: number) => {
  if (stopping) return;
  stopping = true;
  say("stopping");
  await Promise.all(nodes.map((node) => node.stop()));
  await services.stop();
  process.exit(code);
};
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));
try {
  for (let i = 0; i < n; i++) {
    const id = `node${i + 1}`;
    const node = await startNode(id, settings);
    nodes.push(node);
    say(`${id} ready: smtp ${node.smtp}, http ${node.http} (pid ${node.pid})`);
    void node.exited.then((code) => {
      if (!stopping) say(`${id} exited (code ${code})`);
    });
  }
} catch (e) {
  say(e instanceof Error ? e.message : String(e));
  await stopAll(1);
}
const masked = Object.fromEntries(
  Object.entries(settings).map(([k, v]) => [k, /SECRET|PASSWORD|TOKEN|HMAC_KEY/.test(k) ? "***" : v]),
);
process.stdout.write(
  `${JSON.stringify({
    nodes: nodes.map((x) => ({
      id: x.id,
      smtp: x.smtp,
      smtps: x.smtps,
      http: x.http,
      bounce: x.bounce,
      pid: x.pid,
    })),
    adminToken: settings.PETREL_ADMIN_TOKEN,
    settings: masked,
  })}\n`,
);
