/**
 * Delivery benchmark (issue 5 "Measure"): end to end, from submission (STARTTLS + AUTH PLAIN,
 * 20 persistent sessions, 5 KiB, 1 recipient, pipelined envelope; the raw client of the ingress
 * bench) to a discarding sink (smtp-server on loopback, in this process, no STARTTLS offered so
 * both servers send in clear). Compared in the same run, each on a fresh instance, in alternating
 * order:
 *   - Petrel, DKIM on and DKIM off (tests/bench/delivery-child.ts: ingress + actors + delivery
 *     workers; MX of `sink.test` → 127.0.0.1 served by Knot DNS, PETREL_SMTP_OUT_PORT = the sink);
 *   - Postfix (Debian package; tests/bench/ingress-postfix.ts in relay mode: same STARTTLS +
 *     SASL submission, `relayhost = [127.0.0.1]:<sink>`), without DKIM (no milter installed).
 * Per row: delivered msg/s (N / first submission → last message at the sink), p50/p99
 * accept→delivered latency (the client's `250` to the sink's end of DATA, matched by an
 * `X-Bench-Id` header; the client submits as fast as it is answered, so when the accepted rate
 * (also reported) is above the delivered one, a queue builds and the latency is mostly that wait),
 * CPU seconds per 1,000 messages of the server's whole process tree, the
 * Petrel/Postfix ratio; medians of BENCH_RUNS (default 3) runs of BENCH_MESSAGES (default 2000),
 * each after a discarded warm-up on the same instance (BENCH_WARMUP × the count, default 0.2;
 * 0 = measured cold, as before session 10).
 * `BENCH_PEERS=petrel-dkim,petrel-nodkim,postfix` picks rows; BENCH_NODE_ARGS go to Petrel's node
 * (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 * Workload (b)'s shape (issue 16): `BENCH_RECIPIENTS=5 BENCH_BYTES=102400` — each message to 5
 * recipients of `sink.test`; a message counts as delivered once all its recipients reached the
 * sink, whatever the number of transactions; the table adds transactions and DKIM signatures per
 * message seen at the sink. Row `petrel-dkim-b1` is Petrel, DKIM on, with
 * PETREL_DELIVERY_BATCH_RECIPIENTS=1 (a transaction per recipient: the A/B of delivery per message).
 * Row `petrel-dkim-base`: Petrel with DKIM run from the checkout in BENCH_BASE_ROOT (a same-run A/B).
 * Row `petrel-dkim-main`: DKIM signed on the main thread (PETREL_DKIM_THREADS=0), the A/B of the
 * signing thread.
 * Run: `npm run bench:delivery`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanEnv, ROOT } from "../cli/relay.ts";
import { startDnsServer, testZone } from "../dns/server.ts";
import { HOST, RawClient } from "../ingress/harness.ts";
import { openDkimMissing, postfixPeerMissing, startPostfixPeer, treeCpuSeconds } from "./ingress-postfix.ts";
import { discardingServer, listenLoopback } from "./sink.ts";

const N = Number(process.env.BENCH_MESSAGES ?? "2000");
/** Warm-up before each measured run, as a fraction of BENCH_MESSAGES (0 = measure cold). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? "0.2");
const RUNS = Number(process.env.BENCH_RUNS ?? "3");
const SESSIONS = 20;
const BYTES = Number(process.env.BENCH_BYTES ?? String(5 * 1024));
const RCPTS = Number(process.env.BENCH_RECIPIENTS ?? "1");
const PEERS = (process.env.BENCH_PEERS ?? "petrel-dkim,petrel-nodkim,postfix,postfix-dkim").split(",");

interface Target {
  port: number;
  creds: { username: string; password: string };
  auth: boolean;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** The sink: discards every message, noting when each `X-Bench-Id` arrived. */
class Sink {
  /** When each message's last recipient arrived. */
  readonly arrived = new Map<number, number>();
  /** Recipients arrived so far, per message. */
  private readonly rcpts = new Map<number, number>();
  /** Transactions that arrived with a DKIM-Signature header (checks the DKIM on/off switch). */
  signed = 0;
  /** Transactions (DATA) received. */
  transactions = 0;
  private waiter?: () => void;
  private readonly server = discardingServer((head, recipients) => {
    this.transactions++;
    if (/(^|\r\n)DKIM-Signature:/i.test(head)) this.signed++;
    const m = /\r\nX-Bench-Id: (\d+)\r\n/i.exec(head);
    const id = m ? Number(m[1]) : undefined;
    if (id !== undefined && !this.arrived.has(id)) {
      const got = (this.rcpts.get(id) ?? 0) + recipients;
      this.rcpts.set(id, got);
      if (got >= RCPTS) {
        this.arrived.set(id, performance.now());
        if (this.waiter) this.waiter();
      }
    }
  }, 64 * 1024);
  port = 0;

  async start(): Promise<void> {
    this.port = await listenLoopback(this.server);
  }

  /** Resolves once `n` messages arrived or after `ms` of no progress. */
  async waitFor(n: number, ms: number): Promise<void> {
    let last = this.arrived.size;
    let since = performance.now();
    while (this.arrived.size < n) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = undefined;
      if (this.arrived.size !== last) {
        last = this.arrived.size;
        since = performance.now();
      } else if (performance.now() - since > ms) return;
    }
  }

  reset(): void {
    this.arrived.clear();
    this.rcpts.clear();
    this.signed = 0;
    this.transactions = 0;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** `petrel-dkim-base`: Petrel with DKIM from another checkout (`BENCH_BASE_ROOT`), the A/B of a change. */
function baseRoot(): string {
  const root = process.env.BENCH_BASE_ROOT;
  if (!root) throw new Error("petrel-dkim-base needs BENCH_BASE_ROOT (a checkout with node_modules)");
  return root;
}

async function startPetrel(
  dkim: boolean,
  dns: string,
  sinkPort: number,
  env: Record<string, string> = {},
  root = ROOT,
): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-bench-delivery-"));
  const extra = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const proc: ChildProcess = spawn(
    process.execPath,
    [...extra, "--import", "tsx", "tests/bench/delivery-child.ts"],
    {
      cwd: root,
      env: cleanEnv({
        PETREL_DATA_DIR: dir,
        PETREL_HOST: HOST,
        PETREL_HTTP_PORT: "0",
        PETREL_SUBMISSION_PORT: "0",
        PETREL_SMTPS_PORT: "0",
        PETREL_BOUNCE_PORT: "0",
        PETREL_LOG_LEVEL: "error",
        PETREL_DNS_SERVERS: dns,
        PETREL_SMTP_OUT_PORT: String(sinkPort),
        // Postfix's default_destination_concurrency_limit, so both open up to 20 connections.
        PETREL_DELIVERY_CONCURRENCY: "20",
        PETREL_SMTP_SESSIONS_PER_USER: "200",
        PETREL_SMTP_SESSIONS_PER_ACCOUNT: "200",
        PETREL_SMTP_SESSIONS_PER_IP: "300",
        BENCH_DKIM: dkim ? "1" : "0",
        ...env,
      }),
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    proc.stdout?.on("data", (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once("exit", (c) => reject(new Error(`petrel exited ${c}`)));
  });
  const creds = JSON.parse(readFileSync(join(dir, "creds.json"), "utf8"));
  const pid = proc.pid as number;
  return {
    port,
    creds,
    auth: true,
    cpuSeconds: () => treeCpuSeconds(pid),
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function body(n: number): string {
  const head = `From: app@shop.example\r\nTo: ${rcpts(n).join(", ")}\r\nSubject: bench ${n}\r\nMessage-ID: <bench-${n}@shop.example>\r\nX-Bench-Id: ${n}\r\n\r\n`;
  const line = `${"x".repeat(76)}\r\n`;
  return head + line.repeat(Math.ceil((BYTES - head.length) / line.length));
}

const rcpts = (n: number) => Array.from({ length: RCPTS }, (_, k) => `r${n}-${k}@sink.test`);

async function session(t: Target): Promise<RawClient> {
  const client = await RawClient.connect(t.port);
  const cmd = async (line: string) => {
    client.write(`${line}\r\n`);
    return client.reply(60_000);
  };
  await client.reply(60_000);
  await cmd("EHLO bench.test");
  const tls = await client.starttls();
  if (!tls.startsWith("220")) throw new Error(tls);
  await cmd("EHLO bench.test");
  if (!t.auth) return client;
  // A 451 (an actor ask that timed out on a loaded machine) is retried as a client would, 5 times at most.
  for (let i = 0; ; i++) {
    const r = await cmd(
      `AUTH PLAIN ${Buffer.from(`\0${t.creds.username}\0${t.creds.password}`).toString("base64")}`,
    );
    if (r.startsWith("235")) return client;
    if (!r.startsWith("451") || i >= 4) throw new Error(r);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

async function runOnce(t: Target, sink: Sink, count = N) {
  sink.reset();
  const accepted = new Map<number, number>();
  let next = 0;
  let refused = 0;
  const cpu0 = t.cpuSeconds();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: SESSIONS }, async () => {
      const c = await session(t);
      for (let n = next++; n < count; n = next++) {
        const to = rcpts(n).map((a) => `RCPT TO:<${a}>\r\n`);
        c.write(`MAIL FROM:<app@shop.example>\r\n${to.join("")}DATA\r\n`);
        for (let i = 0; i < RCPTS + 2; i++) await c.reply(60_000);
        c.write(`${body(n)}\r\n.\r\n`);
        const r = await c.reply(60_000);
        if (r.startsWith("250")) accepted.set(n, performance.now());
        else refused++;
      }
      await c.cmd("QUIT");
      c.close();
    }),
  );
  await sink.waitFor(accepted.size, 30_000);
  const arrivals = [...sink.arrived.values()];
  const end = arrivals.length > 0 ? Math.max(...arrivals) : performance.now();
  const cpu = t.cpuSeconds() - cpu0;
  const lat: number[] = [];
  for (const [n, at] of sink.arrived) {
    const a = accepted.get(n);
    if (a !== undefined) lat.push(at - a);
  }
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  const delivered = sink.arrived.size;
  const lastAccept = accepted.size > 0 ? Math.max(...accepted.values()) : performance.now();
  return {
    msgPerSec: delivered / ((end - t0) / 1000),
    /** Accepted msg/s while submitting: above the delivered rate, a queue builds and p50 grows. */
    acceptedPerSec: accepted.size / ((lastAccept - t0) / 1000),
    p50: q(0.5),
    p99: q(0.99),
    cpuPer1000: (cpu / Math.max(1, delivered)) * 1000,
    missing: accepted.size - delivered,
    signed: sink.signed,
    txPerMsg: sink.transactions / Math.max(1, delivered),
    refused,
  };
}

type Result = Awaited<ReturnType<typeof runOnce>>;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const peers = PEERS.filter((p) => {
  const why = p.startsWith("postfix")
    ? (postfixPeerMissing() ?? (p === "postfix-dkim" ? openDkimMissing() : undefined))
    : undefined;
  if (why) console.warn(`SKIP ${p}: ${why}`);
  return !why;
});
const dns = await startDnsServer({ zones: [testZone("sink.test", ["@ IN MX 10 mx", "mx IN A 127.0.0.1"])] });
const sink = new Sink();
await sink.start();
const results = new Map<string, Result[]>(peers.map((p) => [p, []]));
let postfixVersion = "";
let postfixAuth = true;
try {
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? peers : [...peers].reverse();
    for (const peer of order) {
      let t: Target;
      if (peer.startsWith("postfix")) {
        const p = await startPostfixPeer({ relayTo: sink.port, dkim: peer === "postfix-dkim" });
        postfixVersion = p.version;
        postfixAuth &&= p.auth;
        t = p;
      } else
        t = await startPetrel(
          peer !== "petrel-nodkim",
          dns.address,
          sink.port,
          peer === "petrel-dkim-b1"
            ? { PETREL_DELIVERY_BATCH_RECIPIENTS: "1" }
            : peer === "petrel-dkim-main"
              ? { PETREL_DKIM_THREADS: "0" }
              : {},
          peer === "petrel-dkim-base" ? baseRoot() : ROOT,
        );
      try {
        // Warm-up, discarded: the same load on the same instance, delivered before the measured run.
        if (WARMUP > 0) await runOnce(t, sink, Math.max(SESSIONS, Math.round(N * WARMUP)));
        const r = await runOnce(t, sink);
        results.get(peer)?.push(r);
        console.log(
          `run ${run + 1} ${peer}: ${JSON.stringify(r, (_k, v) => (typeof v === "number" ? Math.round(v * 100) / 100 : v))}`,
        );
      } finally {
        await t.stop();
      }
    }
  }
} finally {
  await sink.stop();
  await dns.stop();
}

const NAMES: Record<string, string> = {
  "petrel-dkim": "Petrel, DKIM on",
  "petrel-nodkim": "Petrel, DKIM off",
  "petrel-dkim-b1": "Petrel, DKIM on, a transaction per recipient (batch 1)",
  "petrel-dkim-main": "Petrel, DKIM on the main thread",
  "petrel-dkim-base": `Petrel, DKIM on, at ${process.env.BENCH_BASE_ROOT ?? "base"}`,
  postfix: `Postfix ${postfixVersion} relay, no DKIM${postfixAuth ? "" : ", no AUTH"}`,
  "postfix-dkim": `Postfix ${postfixVersion} relay + OpenDKIM milter${postfixAuth ? "" : ", no AUTH"}`,
};
const pf = results.get("postfix") ?? [];
const pfRate = median(pf.map((r) => r.msgPerSec));
const pfCpu = median(pf.map((r) => r.cpuPer1000));
console.log(
  `\n${N} × ${(BYTES / 1024).toFixed(0)} KiB, ${RCPTS} rcpt, ${SESSIONS} sessions (STARTTLS + AUTH), medians of ${RUNS} runs\n`,
);
console.log(
  "| server | delivered msg/s | accepted msg/s | p50 accept→delivered ms | p99 ms | CPU-s / 1,000 msg | msg/s ÷ Postfix (no DKIM) | CPU ÷ Postfix (no DKIM) | missing | DKIM-signed transactions at sink | transactions / msg | msg/s of each run |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
for (const [peer, rs] of results) {
  const rate = median(rs.map((r) => r.msgPerSec));
  const cpu = median(rs.map((r) => r.cpuPer1000));
  const ratio = (x: number, y: number) => (pf.length > 0 && y > 0 ? (x / y).toFixed(2) : "–");
  console.log(
    `| ${NAMES[peer] ?? peer} | ${rate.toFixed(0)} | ${median(rs.map((r) => r.acceptedPerSec)).toFixed(0)} | ${median(rs.map((r) => r.p50)).toFixed(0)} | ${median(rs.map((r) => r.p99)).toFixed(0)} | ${cpu.toFixed(2)} | ${ratio(rate, pfRate)} | ${ratio(cpu, pfCpu)} | ${rs.reduce((s, r) => s + r.missing + r.refused, 0)} | ${rs.reduce((s, r) => s + r.signed, 0)} | ${median(rs.map((r) => r.txPerMsg)).toFixed(2)} | ${rs.map((r) => r.msgPerSec.toFixed(0)).join(" / ")} |`,
  );
}

const rateOf = (peer: string) => median((results.get(peer) ?? []).map((r) => r.msgPerSec));
const cpuOf = (peer: string) => median((results.get(peer) ?? []).map((r) => r.cpuPer1000));
const pairs: [string, string][] = [
  ["petrel-dkim", "petrel-dkim-b1"],
  ["petrel-dkim", "postfix-dkim"],
  ["petrel-dkim", "postfix"],
  ["petrel-nodkim", "postfix"],
];
console.log("\n| Petrel ÷ Postfix | delivered msg/s | CPU per message |");
console.log("| --- | ---: | ---: |");
for (const [a, b] of pairs)
  if (results.has(a) && results.has(b))
    console.log(
      `| ${NAMES[a]} ÷ ${NAMES[b]} | ${(rateOf(a) / rateOf(b)).toFixed(2)} | ${(cpuOf(a) / cpuOf(b)).toFixed(2)} |`,
    );
