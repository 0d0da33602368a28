/**
 * Ingress benchmark (issue 4 "Measure"): the whole relay as a child process (durable accept on
 * the embedded log, delivery running with its DNS pointed at a dead loopback port), a raw
 * pipelining SMTP client in this process; every session does STARTTLS and AUTH PLAIN.
 *   (a) 10,000 × 5 KiB, 1 recipient, 20 persistent sessions
 *   (b)  2,000 × 100 KiB, 5 recipients, 20 sessions
 *   (d)  2,000 × 5 KiB, one message per connection, 20 in parallel
 *   (e) as (a) with 100 sessions
 * Reports accepted msg/s, p50/p99 end-of-DATA→250 latency, relay CPU seconds per 1,000 messages
 * and the relay's peak RSS; medians of RUNS runs. `BENCH_SCALE=0.2` shrinks the counts,
 * `BENCH_RUNS=1` runs once, `BENCH_ONLY=a,d` picks workloads.
 * Run: `npm run bench:ingress`. Postfix and Haraka comparisons are not automated here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanEnv, ROOT } from "../cli/relay.ts";
import { HOST, RawClient } from "../ingress/harness.ts";

const SCALE = Number(process.env.BENCH_SCALE ?? "1");
const RUNS = Number(process.env.BENCH_RUNS ?? "3");
const ONLY = (process.env.BENCH_ONLY ?? "a,b,d,e").split(",");

interface Workload {
  name: string;
  messages: number;
  bytes: number;
  recipients: number;
  sessions: number;
  perConnection: boolean;
}

const WORKLOADS: Workload[] = [
  { name: "a", messages: 10_000, bytes: 5 * 1024, recipients: 1, sessions: 20, perConnection: false },
  { name: "b", messages: 2_000, bytes: 100 * 1024, recipients: 5, sessions: 20, perConnection: false },
  { name: "d", messages: 2_000, bytes: 5 * 1024, recipients: 1, sessions: 20, perConnection: true },
  { name: "e", messages: 10_000, bytes: 5 * 1024, recipients: 1, sessions: 100, perConnection: false },
];

interface Child {
  proc: ChildProcess;
  port: number;
  creds: { username: string; password: string };
  dir: string;
}

async function startChild(): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-bench-"));
  const extra = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // BENCH_TARGET=relay: the whole relay (delivery, analytics sink in the same process);
  // default: ingress alone (tests/bench/ingress-child.ts).
  const script =
    process.env.BENCH_TARGET === "relay"
      ? "tests/ingress/durability-child.ts"
      : "tests/bench/ingress-child.ts";
  const proc = spawn(process.execPath, [...extra, "--import", "tsx", script], {
    cwd: ROOT,
    env: cleanEnv({
      PETREL_DATA_DIR: dir,
      PETREL_HOST: HOST,
      PETREL_HTTP_PORT: "0",
      PETREL_SUBMISSION_PORT: "0",
      PETREL_SMTPS_PORT: "0",
      PETREL_LOG_LEVEL: "error",
      PETREL_DNS_SERVERS: "127.0.0.1:9",
      PETREL_SMTP_SESSIONS_PER_USER: "200",
      PETREL_SMTP_SESSIONS_PER_ACCOUNT: "200",
      PETREL_SMTP_SESSIONS_PER_IP: "300",
    }),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    proc.stdout?.on("data", (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once("exit", (c) => reject(new Error(`relay exited ${c}`)));
  });
  const creds = JSON.parse(readFileSync(join(dir, "creds.json"), "utf8"));
  return { proc, port, creds, dir };
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (100/s)
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

function body(bytes: number, n: number): string {
  const head = `From: app@shop.example\r\nTo: r@example.net\r\nSubject: bench ${n}\r\n\r\n`;
  const line = `${"x".repeat(76)}\r\n`;
  return head + line.repeat(Math.max(1, Math.ceil((bytes - head.length) / line.length)));
}

async function session(c: Child): Promise<RawClient> {
  const client = await RawClient.connect(c.port);
  await client.reply();
  await client.cmd("EHLO bench.test");
  await client.starttls();
  await client.cmd("EHLO bench.test");
  const r = await client.cmd(
    `AUTH PLAIN ${Buffer.from(`\0${c.creds.username}\0${c.creds.password}`).toString("base64")}`,
  );
  if (!r.startsWith("235")) throw new Error(r);
  return client;
}

/** One message, pipelined envelope; returns the end-of-DATA→250 latency in ms, or -1 if refused. */
async function send(client: RawClient, w: Workload, n: number, data: string): Promise<number> {
  let env = "MAIL FROM:<app@shop.example>\r\n";
  for (let i = 0; i < w.recipients; i++) env += `RCPT TO:<r${n}.${i}@bench${(n + i) % 16}.example>\r\n`;
  client.write(`${env}DATA\r\n`);
  for (let i = 0; i < w.recipients + 2; i++) await client.reply();
  const t0 = performance.now();
  client.write(`${data}\r\n.\r\n`);
  const r = await client.reply();
  return r.startsWith("250") ? performance.now() - t0 : -1;
}

async function runWorkload(c: Child, w: Workload) {
  const total = Math.max(w.sessions, Math.round(w.messages * SCALE));
  const data = body(w.bytes, 0);
  const latencies: number[] = [];
  let next = 0;
  let refused = 0;
  const cpu0 = cpuSeconds(c.proc.pid as number);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: w.sessions }, async () => {
      let client = w.perConnection ? undefined : await session(c);
      for (let n = next++; n < total; n = next++) {
        if (w.perConnection) client = await session(c);
        const ms = await send(client as RawClient, w, n, data);
        if (ms < 0) refused++;
        else latencies.push(ms);
        if (w.perConnection) {
          await client?.cmd("QUIT");
          client?.close();
        }
      }
      if (!w.perConnection) {
        await client?.cmd("QUIT");
        client?.close();
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(c.proc.pid as number) - cpu0;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    msgPerSec: latencies.length / secs,
    p50: q(0.5),
    p99: q(0.99),
    cpuPer1000: (cpu / Math.max(1, latencies.length)) * 1000,
    refused,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const rows: string[] = [];
for (const w of WORKLOADS.filter((x) => ONLY.includes(x.name))) {
  const results = [];
  let rss = 0;
  for (let run = 0; run < RUNS; run++) {
    const c = await startChild();
    try {
      results.push(await runWorkload(c, w));
      rss = Math.max(rss, peakRssMiB(c.proc.pid as number));
    } finally {
      c.proc.kill("SIGTERM");
      await new Promise((r) => c.proc.once("exit", r));
      rmSync(c.dir, { recursive: true, force: true });
    }
  }
  const row = `| (${w.name}) ${Math.round(w.messages * SCALE)} × ${w.bytes / 1024} KiB, ${w.recipients} rcpt, ${w.sessions} ${w.perConnection ? "parallel, 1 msg/connection" : "sessions"} | ${median(results.map((r) => r.msgPerSec)).toFixed(0)} | ${median(results.map((r) => r.p50)).toFixed(1)} | ${median(results.map((r) => r.p99)).toFixed(1)} | ${median(results.map((r) => r.cpuPer1000)).toFixed(2)} | ${rss.toFixed(0)} | ${results.reduce((s, r) => s + r.refused, 0)} |`;
  rows.push(row);
  console.log(row);
}
console.log(
  "\n| workload | accepted msg/s | p50 ms | p99 ms | relay CPU-s / 1,000 msg | peak RSS MiB | refused |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
