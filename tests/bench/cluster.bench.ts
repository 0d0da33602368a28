/**
 * One node against two nodes (issue 13 "Measure"): workload (a) of the ingress bench in shape —
 * 5 KiB, one recipient, 20 persistent STARTTLS + AUTH sessions (nodemailer pools, not the ingress
 * bench's pipelined raw client) — submitted to a cluster on loopback (tests/cluster/services.ts:
 * Kafka, SeaweedFS as S3, the ClickHouse endpoint) whose nodes deliver through Knot DNS (MX of
 * `bench*.example` → 127.0.0.1) to a discarding smtp-server sink. With two nodes the sessions are
 * spread over both. Per row: accepted msg/s (all `250`s), delivered msg/s (first submission →
 * last message at the sink) and the nodes' CPU seconds per 1,000 messages over the same window
 * (the node processes only: Kafka, SeaweedFS and the client are not counted); medians of BENCH_RUNS (default 3) runs of BENCH_MESSAGES (default 2000),
 * each on a fresh cluster. Both rows share this machine's two cores with Kafka, SeaweedFS, the
 * ClickHouse stand-in and the client.
 * Run: `npm run bench:cluster` (`BENCH_NODES=1` for the one-node row only).
 */
import nodemailer from "nodemailer";
import { type ClusterNode, startNode } from "../cluster/node.ts";
import { startClusterServices } from "../cluster/services.ts";
import { startDnsServer, testZone } from "../dns/server.ts";
import { benchAccount } from "./cluster-account.ts";
import { treeCpuSeconds } from "./ingress-postfix.ts";
import { discardingServer, listenLoopback } from "./sink.ts";

const N = Number(process.env.BENCH_MESSAGES ?? "2000");
const RUNS = Number(process.env.BENCH_RUNS ?? "3");
/** Cluster sizes to run, `BENCH_NODES=1` for one row. */
const NODES = (process.env.BENCH_NODES ?? "1,2").split(",").map(Number);
const SESSIONS = 20;
const DOMAINS = Array.from({ length: 16 }, (_, i) => `bench${i}.example`);
const BODY = "x"
  .repeat(76)
  .concat("\r\n")
  .repeat(Math.ceil((5 * 1024) / 78));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

interface Run {
  accepted: number;
  delivered: number;
  /** The nodes' CPU seconds per 1,000 messages, first submission → last delivery. */
  cpu: number;
}

async function runOnce(nodes: number): Promise<Run> {
  let arrived = 0;
  let lastAt = 0;
  const sink = discardingServer(() => {
    arrived++;
    lastAt = performance.now();
  });
  const sinkPort = await listenLoopback(sink);
  const dns = await startDnsServer({
    zones: DOMAINS.map((d) => testZone(d, ["@ IN MX 10 mx", "mx IN A 127.0.0.1"])),
  });
  const services = await startClusterServices({ partitions: 8 });
  const shared = {
    ...services.settings,
    PETREL_DNS_SERVERS: dns.address,
    PETREL_SMTP_OUT_PORT: String(sinkPort),
    PETREL_LOG_LEVEL: "error",
    PETREL_SMTP_SESSIONS_PER_USER: "200",
    PETREL_SMTP_SESSIONS_PER_ACCOUNT: "200",
    PETREL_SHUTDOWN_GRACE_MS: "5000",
  };
  const cluster: ClusterNode[] = [];
  try {
    for (let i = 0; i < nodes; i++) cluster.push(await startNode(`n${i + 1}`, shared));
    const user = await benchAccount(cluster[0]!.api, services.adminToken);
    const pools = Array.from({ length: SESSIONS }, (_, i) =>
      nodemailer.createTransport({
        host: "127.0.0.1",
        port: cluster[i % nodes]!.smtp,
        requireTLS: true,
        pool: true,
        maxConnections: 1,
        maxMessages: Number.POSITIVE_INFINITY,
        tls: { rejectUnauthorized: false },
        auth: { user: user.username, pass: user.password },
      }),
    );
    const nodesCpu = () => cluster.reduce((sum, c) => sum + treeCpuSeconds(c.pid), 0);
    const cpu0 = nodesCpu();
    const t0 = performance.now();
    let next = 0;
    let ok = 0;
    await Promise.all(
      pools.map(async (t) => {
        for (let n = next++; n < N; n = next++) {
          const info = await t.sendMail({
            from: "app@shop.example",
            to: `r${n}@${DOMAINS[n % DOMAINS.length]}`,
            subject: `bench ${n}`,
            text: BODY,
          });
          if (/^250 /.test(info.response)) ok++;
        }
      }),
    );
    const acceptedAt = performance.now();
    for (const t of pools) t.close();
    const deadline = Date.now() + 600_000;
    while (arrived < ok && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (arrived < ok) throw new Error(`only ${arrived} of ${ok} delivered`);
    const cpu = ((nodesCpu() - cpu0) / ok) * 1000;
    return { accepted: (ok / (acceptedAt - t0)) * 1000, delivered: (ok / (lastAt - t0)) * 1000, cpu };
  } finally {
    await Promise.all(cluster.map((c) => c.stop(10_000)));
    await services.stop();
    await dns.stop();
    await new Promise<void>((r) => sink.close(() => r()));
  }
}

const rows: string[] = [];
for (const nodes of NODES) {
  const runs: Run[] = [];
  for (let r = 0; r < RUNS; r++) {
    const x = await runOnce(nodes);
    process.stderr.write(
      `[bench:cluster] ${nodes} node(s), run ${r + 1}: ${x.accepted.toFixed(0)} accepted/s, ${x.delivered.toFixed(0)} delivered/s, ${x.cpu.toFixed(2)} CPU-s / 1,000\n`,
    );
    runs.push(x);
  }
  rows.push(
    `| ${nodes} | ${median(runs.map((x) => x.accepted)).toFixed(0)} | ${median(runs.map((x) => x.delivered)).toFixed(0)} | ${median(runs.map((x) => x.cpu)).toFixed(2)} | ${runs.map((x) => x.delivered.toFixed(0)).join(" / ")} |`,
  );
}
process.stdout.write(
  `| nodes | accepted msg/s | delivered msg/s | nodes' CPU-s / 1,000 msg | delivered msg/s of each run |\n| --: | --: | --: | --: | --- |\n${rows.join("\n")}\n`,
);
process.exit(0);
