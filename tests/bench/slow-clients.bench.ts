/**
 * `npm run bench:slow-clients` (issue 17 point 4): a whole relay in a child process
 * (tests/bench/ops-child.ts, default S13 limits) and, from this process, (1) a normal client that
 * sends `--messages` messages over STARTTLS + AUTH, timing end-of-DATA → 250, alone; (2) the same
 * while `--sessions` slow sessions (half idle, half dripping a command line a byte a second) hold
 * connections from 127.0.0.2 upwards, 50 per address; plus the per-IP limit checked from
 * 127.0.0.250 (the limit's worth of sessions, then one more that must get 421 4.7.0). Then it
 * waits for the slow sessions to be closed by the limits and counts their last replies. The
 * child's RSS (peak, VmHWM) and open file descriptors are sampled from /proc.
 *
 *   npm run bench:slow-clients -- [--sessions 2000] [--messages 300]
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { LineClient, quantile, type SlowSession, slowSession } from "../ops/clients.ts";

const { values } = parseArgs({
  options: { sessions: { type: "string", default: "2000" }, messages: { type: "string", default: "300" } },
});
const SESSIONS = Number(values.sessions);
const MESSAGES = Number(values.messages);
const PER_IP = 100; // PETREL_SMTP_SESSIONS_PER_IP default
const PER_ADDRESS = 50;
const IDLE_MS = 60_000; // PETREL_SMTP_IDLE_TIMEOUT_MS default

const child = spawn(process.execPath, ["--import", "tsx", "tests/bench/ops-child.ts"], {
  env: { ...process.env, PETREL_LOG_LEVEL: "fatal" },
  stdio: ["ignore", "pipe", "inherit"],
});
const ready = await new Promise<{ port: number; user: string; pass: string }>((resolve, reject) => {
  child.once("exit", (c) => reject(new Error(`relay child exited ${c}`)));
  createInterface({ input: child.stdout! }).on("line", (l) => {
    if (l.startsWith("READY ")) resolve(JSON.parse(l.slice(6)));
  });
});
const pid = child.pid as number;

const kb = (field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
const fds = () => readdirSync(`/proc/${pid}/fd`).length;
let peakFds = 0;
const sampler = setInterval(() => {
  peakFds = Math.max(peakFds, fds());
}, 250);

async function normalRun(label: string): Promise<{ p50: number; p99: number; max: number; failed: number }> {
  const c = await LineClient.authenticated(ready.port, ready.user, ready.pass);
  const ms: number[] = [];
  let failed = 0;
  for (let i = 0; i < MESSAGES; i++) {
    const r = await c.sendTimed("app@shop.example", `n${i}@good.test`, `message ${i} of ${label}`);
    if (r.reply.startsWith("250")) ms.push(r.ms);
    else failed++;
  }
  c.close();
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return { p50: r1(quantile(ms, 0.5)), p99: r1(quantile(ms, 0.99)), max: r1(Math.max(...ms)), failed };
}

const rssStart = kb("VmRSS");
const alone = await normalRun("alone");
const rssAlone = kb("VmRSS");

// The flood.
const flood: SlowSession[] = [];
const t0 = performance.now();
for (let i = 0; i < SESSIONS; i += 100) {
  const batch: SlowSession[] = [];
  for (let j = i; j < Math.min(SESSIONS, i + 100); j++) {
    const address = `127.0.${Math.floor(j / PER_ADDRESS / 250)}.${2 + (Math.floor(j / PER_ADDRESS) % 250)}`;
    batch.push(slowSession(ready.port, address, j % 2 === 0 ? "idle" : "drip", 1_000));
  }
  await Promise.all(batch.map((s) => s.greeting));
  flood.push(...batch);
}
const greetings = await Promise.all(flood.map((s) => s.greeting));
const greeted = greetings.filter((g) => g.startsWith("220")).length;
const connectMs = performance.now() - t0;

// S4: the per-IP limit still protects.
const held: SlowSession[] = [];
for (let i = 0; i < PER_IP; i++) held.push(slowSession(ready.port, "127.0.0.250", "idle"));
const heldGreetings = await Promise.all(held.map((s) => s.greeting));
const extra = slowSession(ready.port, "127.0.0.250", "idle");
const extraGreeting = await extra.greeting;

const flooded = await normalRun("flood");
const rssFlood = kb("VmRSS");
const openDuringFlood = fds();

// The limits close them all: the idle timeout, bounded wait.
const closeStart = performance.now();
const ends = await Promise.all(
  [...flood, ...held].map((s) =>
    Promise.race([s.closed, new Promise<string>((r) => setTimeout(() => r("still open"), IDLE_MS + 60_000))]),
  ),
);
const closedAfterMs = performance.now() - closeStart;
const tally: Record<string, number> = {};
for (const e of ends) tally[e] = (tally[e] ?? 0) + 1;
clearInterval(sampler);
const peakRss = kb("VmHWM");

const result = {
  sessions: SESSIONS,
  greeted,
  connectMs: Math.round(connectMs),
  perIp: {
    held: heldGreetings.filter((g) => g.startsWith("220")).length,
    extra: extraGreeting,
  },
  normal: {
    alone,
    flood: flooded,
    p99Ratio: Number((flooded.p99 / alone.p99).toFixed(2)),
  },
  rssMiB: {
    start: Math.round(rssStart / 1024),
    afterAlone: Math.round(rssAlone / 1024),
    duringFlood: Math.round(rssFlood / 1024),
    peak: Math.round(peakRss / 1024),
  },
  fds: { duringFlood: openDuringFlood, peak: peakFds },
  closedBy: tally,
  allClosedAfterS: Math.round(closedAfterMs / 1000),
};
console.log(JSON.stringify(result, null, 2));
for (const s of [...flood, ...held, extra]) s.destroy();
child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
