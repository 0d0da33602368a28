/**
 * Ingress benchmark (issue 4 "Measure"): the whole relay as a child process (durable accept on
 * the embedded log, delivery running with its DNS pointed at a dead loopback port), a raw
 * pipelining SMTP client in this process; every session does STARTTLS and AUTH PLAIN.
 *   (a) 10,000 × 5 KiB, 1 recipient, 20 persistent sessions
 *   (b)  2,000 × 100 KiB, 5 recipients, 20 sessions
 *   (d)  2,000 × 5 KiB, one message per connection, 20 in parallel
 *   (e) as (a) with 100 sessions
 *   (m) only with BENCH_ONLY=m: 2,000 × 100 KiB multipart (text + base64 PDF), 1 recipient, 20 sessions
 * Reports accepted msg/s, p50/p99 end-of-DATA→250 latency, relay CPU seconds per 1,000 messages
 * and the relay's peak RSS; medians of RUNS runs. Each measured run follows a discarded warm-up on
 * the same instance (`BENCH_WARMUP`, a fraction of the count, default 0.2; 0 = measured cold, as
 * before session 10). `BENCH_SCALE=0.2` shrinks the counts,
 * `BENCH_RUNS=1` runs once, `BENCH_ONLY=a,d` picks workloads.
 * Peers in the same run (`BENCH_PEERS=petrel,postfix`, the default): a private Postfix doing the
 * same intake (STARTTLS, SASL AUTH, fsync'd queue, mail held; tests/bench/ingress-postfix.ts),
 * driven by the same client with the same load; each run starts fresh instances of both, in
 * alternating order, and the table gives Petrel/Postfix ratios of the medians.
 * Haraka joins when `BENCH_HARAKA` names its binary (tests/bench/ingress-haraka.ts); `bare` is
 * smtp-server with nothing behind it (tests/bench/ingress-bare-child.ts), the library's ceiling;
 * `bare-now` the same greeting at once, as Petrel does.
 * `petrel-b1`: Petrel with PETREL_DELIVERY_BATCH_RECIPIENTS=1 (an attempt per recipient), the A/B
 * of delivery per message on (b).
 * `petrel-no-<job>[+<job>…]`: Petrel without those background jobs (relay.ts JOBS, e.g.
 * `petrel-no-delivery`, `petrel-no-sink`): what each costs the accept rate (not an acceptance figure).
 * `petrel-tp<n>`: Petrel with UV_THREADPOOL_SIZE=n (libuv thread pool size; default 4).
 * `petrel-nocredit` is Petrel with quota
 * credit off (PETREL_SMTP_QUOTA_CREDIT_BLOCK=0: one account-actor ask per recipient, issue 16).
 * Live delivery (`BENCH_DELIVER=sink`, the shape of the independent harness in issue 16): a
 * discarding sink (tests/bench/sink.ts) on loopback, Knot DNS serving MX records of the 16
 * `bench<n>.example` recipient domains → 127.0.0.1; Petrel delivers through MX lookup with DKIM
 * (PETREL_SMTP_OUT_PORT = the sink, 20 connections per domain as Postfix's default), Postfix relays
 * everything to the sink (`relayhost`, no DNS, no DKIM) instead of holding it. The accepted rate is
 * then taken while each server delivers; the table adds the delivered rate (messages whose every
 * recipient reached the sink ÷ the time from the first submission to the last arrival) and the
 * CPU per message through delivery. Haraka does not take part (it holds mail). A message's
 * recipients are then all in one domain (Postfix's one relayhost would send them in one
 * transaction whatever their domains; Petrel groups a message's recipients per domain).
 * Run: `npm run bench:ingress`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanEnv, ROOT } from "../cli/relay.ts";
import { startDnsServer, testZone } from "../dns/server.ts";
import { HOST, RawClient } from "../ingress/harness.ts";
import { harakaPeerMissing, startHarakaPeer } from "./ingress-haraka.ts";
import { type PostfixPeer, postfixPeerMissing, startPostfixPeer } from "./ingress-postfix.ts";
import { CountingSink } from "./sink.ts";

const SCALE = Number(process.env.BENCH_SCALE ?? "1");
/** Warm-up before each measured run, as a fraction of the workload's messages (0 = measure cold). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? "0.2");
const RUNS = Number(process.env.BENCH_RUNS ?? "3");
const ONLY = (process.env.BENCH_ONLY ?? "a,b,d,e").split(",");
const DELIVER = process.env.BENCH_DELIVER === "sink";
const PEERS = (
  process.env.BENCH_PEERS ??
  (process.env.BENCH_HARAKA && !DELIVER ? "petrel,postfix,haraka" : "petrel,postfix")
).split(",");
/** The recipient domains: `bench<n>.example`, n < 16. */
const DOMAINS = 16;

/** Live delivery: the sink and the DNS server that points every recipient domain at it. */
const live = DELIVER ? await startLive() : undefined;

async function startLive() {
  const sink = new CountingSink();
  await sink.start();
  const zones = Array.from({ length: DOMAINS }, (_, i) =>
    testZone(`bench${i}.example`, ["@ IN MX 10 mx", "mx IN A 127.0.0.1"]),
  );
  const dns = await startDnsServer({ zones });
  return { sink, dns };
}

/** Petrel's delivery settings: a dead DNS port, or the live sink. */
function deliveryEnv(): Record<string, string> {
  if (!live) return { PETREL_DNS_SERVERS: "127.0.0.1:9" };
  return {
    PETREL_DNS_SERVERS: live.dns.address,
    PETREL_SMTP_OUT_PORT: String(live.sink.port),
    // Postfix's default_destination_concurrency_limit, so both open up to 20 connections.
    PETREL_DELIVERY_CONCURRENCY: "20",
  };
}

interface Workload {
  name: string;
  messages: number;
  bytes: number;
  recipients: number;
  sessions: number;
  perConnection: boolean;
  /** multipart/mixed: a short text part and a base64 attachment making up the rest. */
  multipart?: boolean;
}

const WORKLOADS: Workload[] = [
  { name: "a", messages: 10_000, bytes: 5 * 1024, recipients: 1, sessions: 20, perConnection: false },
  { name: "b", messages: 2_000, bytes: 100 * 1024, recipients: 5, sessions: 20, perConnection: false },
  { name: "d", messages: 2_000, bytes: 5 * 1024, recipients: 1, sessions: 20, perConnection: true },
  { name: "e", messages: 10_000, bytes: 5 * 1024, recipients: 1, sessions: 100, perConnection: false },
  // Not an acceptance workload (run it with BENCH_ONLY=m): the MIME walk on a message with an attachment.
  {
    name: "m",
    messages: 2_000,
    bytes: 100 * 1024,
    recipients: 1,
    sessions: 20,
    perConnection: false,
    multipart: true,
  },
];

interface Child {
  proc: ChildProcess;
  port: number;
  creds: { username: string; password: string };
  dir: string;
}

/** A server under load: Petrel's ingress child or the Postfix peer. */
interface Target {
  port: number;
  creds: { username: string; password: string };
  /** false: the peer does not offer AUTH (sessions skip it). */
  auth: boolean;
  cpuSeconds(): number;
  peakRssMiB(): number;
  stop(): Promise<void>;
}

async function startTarget(peer: string): Promise<Target> {
  if (peer === "postfix") {
    const p: PostfixPeer = await startPostfixPeer(live ? { relayTo: live.sink.port } : {});
    return p;
  }
  if (peer === "haraka") return startHarakaPeer();
  // `petrel-base`: the same child from another checkout (BENCH_BASE_ROOT), for before/after, or
  // with other node flags (BENCH_BASE_NODE_ARGS; BENCH_BASE_ROOT unset = this checkout).
  const c = await startChild(
    peer === "petrel-base" ? (process.env.BENCH_BASE_ROOT ?? ROOT) : ROOT,
    peer.startsWith("bare") ? "tests/bench/ingress-bare-child.ts" : undefined,
    peerEnv(peer),
    peer === "petrel-base" ? process.env.BENCH_BASE_NODE_ARGS : undefined,
  );
  const pid = c.proc.pid as number;
  return {
    port: c.port,
    creds: c.creds,
    auth: true,
    cpuSeconds: () => cpuSeconds(pid),
    peakRssMiB: () => peakRssMiB(pid),
    async stop() {
      c.proc.kill("SIGTERM");
      await new Promise((r) => c.proc.once("exit", r));
      rmSync(c.dir, { recursive: true, force: true });
    },
  };
}

/**
 * What a peer name sets in its child's environment: `petrel-flush<ms>`, `petrel-tp<n>`,
 * `petrel-no-<job>[+<job>]`, and a few fixed variants; anything else runs as configured.
 * `BENCH_NODE_BIN` is the child's node (`petrel-node24`), not a relay setting.
 */
const PEER_ENV: [RegExp, (m: RegExpExecArray) => Record<string, string>][] = [
  [/^bare-now$/, () => ({ BENCH_BARE_GREETING: "now" })],
  [/^petrel-b1$/, () => ({ PETREL_DELIVERY_BATCH_RECIPIENTS: "1" })],
  [/^petrel-nocredit$/, () => ({ PETREL_SMTP_QUOTA_CREDIT_BLOCK: "0" })],
  [/^petrel-flush(\d+)$/, (m) => ({ PETREL_ANALYTICS_FLUSH_MS: m[1] as string })],
  [/^petrel-tp(\d+)$/, (m) => ({ UV_THREADPOOL_SIZE: m[1] as string })],
  [/^petrel-no-(.+)$/, (m) => ({ BENCH_JOBS_OFF: (m[1] as string).replaceAll("+", ",") })],
  // The relay on Node 24 LTS (.ci/node24.sh installs it from the npm registry), beside the bench's own Node.
  [
    /^petrel-node24$/,
    () => ({ BENCH_NODE_BIN: join(execFileSync(".ci/node24.sh", { encoding: "utf8" }).trim(), "node") }),
  ],
];

function peerEnv(peer: string): Record<string, string> {
  for (const [pattern, env] of PEER_ENV) {
    const m = pattern.exec(peer);
    if (m) return env(m);
  }
  return {};
}

async function startChild(
  root = ROOT,
  childScript?: string,
  env: Record<string, string> = {},
  /** Node flags for this child; default BENCH_NODE_ARGS (`petrel-base` takes BENCH_BASE_NODE_ARGS when set). */
  nodeArgs?: string,
): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-bench-"));
  const extra = (nodeArgs ?? process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // BENCH_TARGET=relay: the whole relay (delivery, analytics sink in the same process);
  // default: ingress alone (tests/bench/ingress-child.ts).
  const script =
    childScript ??
    (process.env.BENCH_TARGET === "relay"
      ? "tests/ingress/durability-child.ts"
      : "tests/bench/ingress-child.ts");
  const proc = spawn(env.BENCH_NODE_BIN ?? process.execPath, [...extra, "--import", "tsx", script], {
    cwd: root,
    env: cleanEnv({
      PETREL_DATA_DIR: dir,
      PETREL_HOST: HOST,
      PETREL_HTTP_PORT: "0",
      PETREL_SUBMISSION_PORT: "0",
      PETREL_SMTPS_PORT: "0",
      PETREL_LOG_LEVEL: "error",
      ...deliveryEnv(),
      PETREL_SMTP_SESSIONS_PER_USER: "200",
      PETREL_SMTP_SESSIONS_PER_ACCOUNT: "200",
      PETREL_SMTP_SESSIONS_PER_IP: "300",
      // `BENCH_SET_PETREL_X=v`: PETREL_X=v for Petrel's children (a setting's A/B).
      ...Object.fromEntries(
        Object.entries(process.env)
          .filter(([k, v]) => k.startsWith("BENCH_SET_PETREL_") && v !== undefined)
          .map(([k, v]) => [k.slice("BENCH_SET_".length), v as string]),
      ),
      ...env,
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

function body(bytes: number, n: number, multipart = false): string {
  const head = `From: app@shop.example\r\nTo: r@example.net\r\nSubject: bench ${n}\r\n`;
  if (multipart) {
    const top = `${head}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nSee the attached report.\r\n--b1\r\nContent-Type: application/pdf; name="report.pdf"\r\nContent-Disposition: attachment; filename="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n`;
    const line = `${"QUJD".repeat(19)}\r\n`;
    const n76 = Math.max(1, Math.ceil((bytes - top.length - 10) / line.length));
    return `${top}${line.repeat(n76)}--b1--\r\n`;
  }
  const line = `${"x".repeat(76)}\r\n`;
  return `${head}\r\n${line.repeat(Math.max(1, Math.ceil((bytes - head.length - 2) / line.length)))}`;
}

async function session(c: Target): Promise<RawClient> {
  // 100 sessions opening at once on a busy 2-core machine: allow more than the 10 s default
  const SETUP_MS = 60_000;
  const cmd = async (line: string) => {
    client.write(`${line}\r\n`);
    return client.reply(SETUP_MS);
  };
  const client = await RawClient.connect(c.port);
  await client.reply(SETUP_MS);
  await cmd("EHLO bench.test");
  const tls = await client.starttls();
  if (!tls.startsWith("220")) throw new Error(tls);
  await cmd("EHLO bench.test");
  if (!c.auth) return client;
  const r = await cmd(
    `AUTH PLAIN ${Buffer.from(`\0${c.creds.username}\0${c.creds.password}`).toString("base64")}`,
  );
  if (!r.startsWith("235")) throw new Error(r);
  return client;
}

/**
 * One message, pipelined envelope; returns the end-of-DATA→250 latency and the whole
 * transaction's (MAIL FROM sent → 250) in ms, or undefined if refused.
 */
async function send(
  client: RawClient,
  w: Workload,
  n: number,
  data: string,
): Promise<{ data: number; message: number } | undefined> {
  const tm = performance.now();
  let env = "MAIL FROM:<app@shop.example>\r\n";
  // Recipients of a message: in 5 of the 16 domains; with live delivery all in one (as the issue's
  // harness sent them, and as Postfix's single relayhost would group them anyway).
  for (let i = 0; i < w.recipients; i++)
    env += `RCPT TO:<r${n}.${i}@bench${(n + (live ? 0 : i)) % DOMAINS}.example>\r\n`;
  client.write(`${env}DATA\r\n`);
  for (let i = 0; i < w.recipients + 2; i++) await client.reply();
  const t0 = performance.now();
  client.write(`${data}\r\n.\r\n`);
  const r = await client.reply();
  const t1 = performance.now();
  return r.startsWith("250") ? { data: t1 - t0, message: t1 - tm } : undefined;
}

async function runWorkload(c: Target, w: Workload, count = w.messages * SCALE) {
  const total = Math.max(w.sessions, Math.round(count));
  const data = body(w.bytes, 0, w.multipart);
  const latencies: number[] = [];
  const whole: number[] = [];
  let next = 0;
  let refused = 0;
  live?.sink.reset();
  const cpu0 = c.cpuSeconds();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: w.sessions }, async () => {
      let client = w.perConnection ? undefined : await session(c);
      for (let n = next++; n < total; n = next++) {
        if (w.perConnection) client = await session(c);
        const ms = await send(client as RawClient, w, n, data);
        if (!ms) refused++;
        else {
          latencies.push(ms.data);
          whole.push(ms.message);
        }
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
  const cpu = c.cpuSeconds() - cpu0;
  // Live delivery: until every accepted recipient reached the sink (or 30 s without one more).
  let delivered: { msgPerSec: number; cpuPer1000: number; missing: number } | undefined;
  if (live) {
    const want = latencies.length * w.recipients;
    await live.sink.waitFor(want, 30_000);
    const got = live.sink.recipients;
    delivered = {
      msgPerSec: got / w.recipients / ((live.sink.lastAt - t0) / 1000),
      cpuPer1000: ((c.cpuSeconds() - cpu0) / Math.max(1, latencies.length)) * 1000,
      missing: want - got,
    };
  }
  latencies.sort((a, b) => a - b);
  whole.sort((a, b) => a - b);
  const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;
  return {
    msgPerSec: latencies.length / secs,
    p50: q(latencies, 0.5),
    p99: q(latencies, 0.99),
    msgP50: q(whole, 0.5),
    cpuPer1000: (cpu / Math.max(1, latencies.length)) * 1000,
    refused,
    delivered,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

type Result = Awaited<ReturnType<typeof runWorkload>>;
interface Summary {
  msgPerSec: number;
  p50: number;
  p99: number;
  msgP50: number;
  cpuPer1000: number;
  rss: number;
  refused: number;
  runs: number[];
  /** Live delivery: medians of delivered msg/s and CPU-s per 1,000 through delivery; recipients missing. */
  delivered?: { msgPerSec: number; cpuPer1000: number; missing: number };
}

const summarize = (rs: Result[], rss: number): Summary => ({
  msgPerSec: median(rs.map((r) => r.msgPerSec)),
  p50: median(rs.map((r) => r.p50)),
  p99: median(rs.map((r) => r.p99)),
  msgP50: median(rs.map((r) => r.msgP50)),
  cpuPer1000: median(rs.map((r) => r.cpuPer1000)),
  rss,
  refused: rs.reduce((s, r) => s + r.refused, 0),
  runs: rs.map((r) => Math.round(r.msgPerSec)),
  ...(rs.every((r) => r.delivered)
    ? {
        delivered: {
          msgPerSec: median(rs.map((r) => r.delivered?.msgPerSec ?? 0)),
          cpuPer1000: median(rs.map((r) => r.delivered?.cpuPer1000 ?? 0)),
          missing: rs.reduce((s, r) => s + (r.delivered?.missing ?? 0), 0),
        },
      }
    : {}),
});

const peers = PEERS.filter((p) => {
  const why = p === "postfix" ? postfixPeerMissing() : p === "haraka" ? harakaPeerMissing() : undefined;
  if (why) console.warn(`SKIP ${p} peer: ${why}`);
  return !why;
});
const rows: string[] = [];
/** Ratios printed when both peers ran: [numerator, denominator, label suffix]. */
const COMPARISONS: [string, string, string][] = [
  ["petrel", "postfix", ""],
  ["petrel", "petrel-base", " (vs petrel-base)"],
  ["petrel", "petrel-nocredit", " (vs petrel-nocredit)"],
  ["petrel", "bare", " (vs bare smtp-server)"],
  ["bare", "postfix", " (bare smtp-server vs Postfix)"],
  ["petrel", "haraka", " (vs Haraka)"],
  ...PEERS.filter((p) => p.startsWith("petrel-no-")).map((p): [string, string, string] => [
    "petrel",
    p,
    ` (vs ${p})`,
  ]),
];
const ratios: string[] = [];
for (const w of WORKLOADS.filter((x) => ONLY.includes(x.name))) {
  const results = new Map<string, Result[]>(peers.map((p) => [p, []]));
  const rss = new Map<string, number>(peers.map((p) => [p, 0]));
  let postfixAuth = true;
  for (let run = 0; run < RUNS; run++) {
    // alternate the order so that neither peer always runs on a warmer (or busier) machine
    const order = run % 2 === 0 ? peers : [...peers].reverse();
    for (const peer of order) {
      const t = await startTarget(peer);
      if (peer === "postfix" && !t.auth) postfixAuth = false;
      try {
        // Warm-up, discarded: the same load on the same instance first (JIT, caches, connections
        // to the sink); with live delivery it ends once the sink has every warm-up recipient.
        if (WARMUP > 0) await runWorkload(t, w, w.messages * SCALE * WARMUP);
        results.get(peer)?.push(await runWorkload(t, w));
        rss.set(peer, Math.max(rss.get(peer) ?? 0, t.peakRssMiB()));
      } finally {
        await t.stop();
      }
    }
  }
  const label = `(${w.name}) ${Math.round(w.messages * SCALE)} × ${w.bytes / 1024} KiB, ${w.recipients} rcpt, ${w.sessions} ${w.perConnection ? "parallel, 1 msg/connection" : "sessions"}`;
  const sums = new Map(peers.map((p) => [p, summarize(results.get(p) ?? [], rss.get(p) ?? 0)]));
  for (const [peer, m] of sums) {
    const name = peer === "postfix" && !postfixAuth ? "postfix (no AUTH)" : peer;
    const row = `| ${label} | ${name} | ${m.msgPerSec.toFixed(0)} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.msgP50.toFixed(1)} | ${m.cpuPer1000.toFixed(2)} | ${m.rss.toFixed(0)} | ${m.refused} | ${m.runs.join(" / ")} |${liveCells(m)}`;
    rows.push(row);
    console.log(row);
  }
  // a ÷ b for each pair of peers that ran (same run, medians)
  for (const [a, b, suffix] of COMPARISONS) {
    const x = sums.get(a);
    const y = sums.get(b);
    if (!x || !y) continue;
    const ratio = `| ${label}${suffix} | ${(x.msgPerSec / y.msgPerSec).toFixed(2)} | ${(x.p50 / y.p50).toFixed(2)} | ${(x.cpuPer1000 / y.cpuPer1000).toFixed(2)} |`;
    ratios.push(ratio);
    console.log(ratio);
  }
}
console.log(
  `\n| workload | server | accepted msg/s | p50 ms | p99 ms | MAIL→250 p50 ms | CPU-s / 1,000 msg | peak RSS MiB | refused | msg/s of each run |${live ? " delivered msg/s | CPU-s / 1,000 through delivery | recipients not delivered |" : ""}`,
);
console.log(
  `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |${live ? " ---: | ---: | ---: |" : ""}`,
);
for (const r of rows) console.log(r);
if (ratios.length > 0) {
  console.log("\n| workload | Petrel/Postfix msg/s | Petrel/Postfix p50 | Petrel/Postfix CPU per msg |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const r of ratios) console.log(r);
}

if (live) {
  await live.sink.stop();
  await live.dns.stop();
}

function liveCells(m: Summary): string {
  const d = m.delivered;
  return d ? ` ${d.msgPerSec.toFixed(0)} | ${d.cpuPer1000.toFixed(2)} | ${d.missing} |` : "";
}
