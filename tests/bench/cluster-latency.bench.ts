/**
 * Where a message's time goes in cluster mode (issue 16: the design must hold on several nodes):
 * one relay node on Kafka, SeaweedFS as S3 and the ClickHouse endpoint (tests/cluster/services.ts),
 * delivering through Knot DNS to a discarding sink, driven by raw SMTP sessions that time each
 * command: MAIL FROM → reply, all RCPTs → last reply, DATA → 354, the body and its dot → 250.
 * Rows: 1 session and 20 sessions, 1 and 5 recipients (one domain), and 1 recipient at the
 * sandbox domain (no suppression check, no quota: what S9 and S8 add to RCPT). p50 / p90 in ms.
 * `BENCH_MESSAGES` (default 400) messages a row after a discarded warm-up of 100.
 * Run: `npm run bench:cluster-latency`.
 */
import { startNode } from "../cluster/node.ts";
import { startClusterServices } from "../cluster/services.ts";
import { startDnsServer, testZone } from "../dns/server.ts";
import { RawClient } from "../ingress/harness.ts";
import { benchAccount } from "./cluster-account.ts";
import { discardingServer, listenLoopback } from "./sink.ts";

const N = Number(process.env.BENCH_MESSAGES ?? "400");
const SANDBOX = "sandbox.petrel.test";

const sink = discardingServer(() => {});
const sinkPort = await listenLoopback(sink);
const dns = await startDnsServer({
  zones: [testZone("bench0.example", ["@ IN MX 10 mx", "mx IN A 127.0.0.1"])],
});
const services = await startClusterServices({ partitions: 8 });
const node = await startNode("n1", {
  ...services.settings,
  PETREL_DNS_SERVERS: dns.address,
  PETREL_SMTP_OUT_PORT: String(sinkPort),
  PETREL_LOG_LEVEL: "error",
  PETREL_SHUTDOWN_GRACE_MS: "5000",
  PETREL_SMTP_SESSIONS_PER_USER: "200",
  PETREL_SMTP_SESSIONS_PER_ACCOUNT: "200",
});
const user = await benchAccount(node.api, services.adminToken);
const BODY = `From: app@shop.example\r\nTo: r@bench0.example\r\nSubject: bench\r\n\r\n${`${"x".repeat(76)}\r\n`.repeat(64)}`;

async function session() {
  const c = await RawClient.connect(node.smtp);
  await c.reply();
  const cmd = async (l: string) => {
    c.write(`${l}\r\n`);
    return c.reply();
  };
  await cmd("EHLO bench.test");
  await c.starttls();
  await cmd("EHLO bench.test");
  const r = await cmd(`AUTH PLAIN ${Buffer.from(`\0${user.username}\0${user.password}`).toString("base64")}`);
  if (!r.startsWith("235")) throw new Error(r);
  return { c, cmd };
}

const pct = (xs: number[], q: number) =>
  ([...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)] ?? Number.NaN).toFixed(1);

async function row(sessions: number, rcpts: number, domain: string, n: number): Promise<string> {
  const t = { mail: [] as number[], rcpt: [] as number[], data: [] as number[], dot: [] as number[] };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: sessions }, async () => {
      const { c, cmd } = await session();
      for (let m = next++; m < n; m = next++) {
        let s = performance.now();
        const mail = await cmd("MAIL FROM:<app@shop.example>");
        t.mail.push(performance.now() - s);
        s = performance.now();
        let rcpt = "";
        for (let k = 0; k < rcpts; k++)
          rcpt = await cmd(`RCPT TO:<${domain === SANDBOX ? "delivered" : `r${m}x${k}`}@${domain}>`);
        t.rcpt.push(performance.now() - s);
        s = performance.now();
        await cmd("DATA");
        t.data.push(performance.now() - s);
        s = performance.now();
        c.write(`${BODY}.\r\n`);
        const done = await c.reply();
        t.dot.push(performance.now() - s);
        if (!mail.startsWith("250") || !rcpt.startsWith("250") || !done.startsWith("250"))
          throw new Error(`refused: ${mail} / ${rcpt} / ${done}`);
      }
      await cmd("QUIT");
    }),
  );
  const rate = (n / (performance.now() - t0)) * 1000;
  const f = (xs: number[]) => `${pct(xs, 0.5)} / ${pct(xs, 0.9)}`;
  return `| ${sessions} | ${rcpts} | ${domain} | ${rate.toFixed(0)} | ${f(t.mail)} | ${f(t.rcpt)} | ${f(t.data)} | ${f(t.dot)} |`;
}

const rows: string[] = [];
try {
  for (const [sessions, rcpts, domain] of [
    [1, 1, "bench0.example"],
    [1, 1, SANDBOX],
    [1, 5, "bench0.example"],
    [20, 1, "bench0.example"],
    [20, 5, "bench0.example"],
  ] as const) {
    await row(sessions, rcpts, domain, 100); // warm-up
    const r = await row(sessions, rcpts, domain, N);
    process.stderr.write(`[bench:cluster-latency] ${r}\n`);
    rows.push(r);
  }
} finally {
  await node.stop(10_000);
  await services.stop();
  await dns.stop();
  sink.close();
}
process.stdout.write(
  `| sessions | recipients | domain | msg/s | MAIL ms p50 / p90 | all RCPTs ms | DATA ms | body + dot → 250 ms |\n| --: | --: | --- | --: | --: | --: | --: | --: |\n${rows.join("\n")}\n`,
);
process.exit(0);
