/**
 * `npm run bench:outage` (issue 17 point 6, issue 16's related goal): a whole relay in this process
 * (tests/ops/stack.ts: Knot DNS, an smtp-server peer, every job, default retry and circuit settings).
 *
 * Part 1 — a destination that refuses: `--backlog` recipients (default 100,000) queued over SMTP
 * for `down.test` (MX 127.0.0.3, nothing listens). Measures the delivery rate to `other.test`
 * (`--other` recipients, submitted and delivered end to end) before the backlog, with it, and
 * after a restart; the restart time (startRelay) and the time until the backlog is restored; the
 * attempts to down.test in the 10 s after the restart; RSS (current and peak, VmHWM).
 * Part 2 — a destination that is slow: `--slow` recipients (default 50,000) for `slow.test`,
 * whose MX greets, and answers each message, after 5 s; the rate to `other.test` before and with that backlog (goal ≥ 90 %),
 * measured in the backlog's steady state (once the consumers caught up and the process is quiet:
 * the slow domain holds its slots, the burst of queueing it — its events' inserts and merges — is over).
 *
 *   npm run bench:outage -- [--backlog 100000] [--slow 50000] [--other 1000] [--parts 1,2]
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { waitFor } from "../helpers/wait.ts";
import { type Stack, startStack } from "../ops/stack.ts";

const { values } = parseArgs({
  options: {
    backlog: { type: "string", default: "100000" },
    slow: { type: "string", default: "50000" },
    other: { type: "string", default: "1000" },
    parts: { type: "string", default: "1,2" },
  },
});
const BACKLOG = Number(values.backlog);
const SLOW = Number(values.slow);
const OTHER = Number(values.other);
const PARTS = values.parts.split(",");

const mib = (field: string) =>
  Math.round(
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) /
      1024,
  );
const log = (what: string, v: unknown) =>
  console.log(`${new Date().toISOString()} ${what}: ${JSON.stringify(v)}`);

/** Submits OTHER recipients for other.test and waits until the peer has them all: recipients/s. */
async function otherRate(s: Stack, label: string): Promise<number> {
  const start = s.peer.received.get("other.test") ?? 0;
  const t0 = performance.now();
  await s.queue("other.test", OTHER, { prefix: `${label}-` });
  await waitFor(() => (s.peer.received.get("other.test") ?? 0) - start >= OTHER, {
    what: `${OTHER} recipients of other.test delivered (${label})`,
    timeoutMs: 600_000,
    intervalMs: 50,
  });
  const rate = OTHER / ((performance.now() - t0) / 1000);
  log(`other.test rate ${label} (recipients/s)`, Math.round(rate * 10) / 10);
  return rate;
}

/** Waits until every consumer group of the relay has caught up (the backlog's events are in ClickHouse). */
async function settle(s: Stack, label: string): Promise<number> {
  const t0 = performance.now();
  await waitFor(async () => (await s.scrape()).value("petrel_bus_consumer_lag") < 50, {
    what: `consumer lag to drain (${label})`,
    timeoutMs: 1_800_000,
    intervalMs: 500,
  });
  const ms = performance.now() - t0;
  log(`consumers caught up ${label} (s)`, Math.round(ms / 100) / 10);
  return ms;
}

/**
 * Waits (at most 60 s) until this process — the relay, its chDB and the peers — has used less than
 * 15 % of a core over a second: the backlog's steady state, after the merges its events started.
 */
async function quiet(label: string): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < 60; i++) {
    const before = process.cpuUsage();
    await sleep(1_000);
    const used = process.cpuUsage(before);
    if ((used.user + used.system) / 1e6 < 0.15) break;
  }
  log(`quiet ${label} (s)`, Math.round((performance.now() - t0) / 100) / 10);
}

async function loadBacklog(s: Stack, domain: string, n: number): Promise<number> {
  const t0 = performance.now();
  await s.queue(domain, n, { connections: 4 });
  // Queued, or already delivered (slow.test's peer takes some).
  const done = () =>
    (s.domainState(domain)?.entries.size ?? 0) +
    (s.peer.received.get(domain) ?? 0) +
    (s.slowPeer?.received.get(domain) ?? 0);
  await waitFor(() => done() >= n, {
    what: `${n} recipients in ${domain}'s queue`,
    timeoutMs: 1_800_000,
    intervalMs: 200,
  });
  const ms = performance.now() - t0;
  log(`queued ${n} for ${domain} (s)`, Math.round(ms / 100) / 10);
  return ms;
}

// Part 1: a destination that refuses.
if (PARTS.includes("1")) await part1Run();
if (PARTS.includes("2")) await part2Run();
process.exit(0);

async function part1Run(): Promise<void> {
  const s = await startStack({
    plan: "business",
    env: { PETREL_DELIVERY_BACKOFF_BASE_SECONDS: "60", PETREL_LOG_LEVEL: "fatal" },
  });
  const part1: Record<string, unknown> = { backlog: BACKLOG, other: OTHER };
  try {
    part1.rssStartMiB = mib("VmRSS");
    await otherRate(s, "warm-up (discarded)");
    const r0 = await otherRate(s, "alone");
    part1.queueSeconds = Math.round((await loadBacklog(s, "down.test", BACKLOG)) / 1000);
    part1.drainSeconds = Math.round((await settle(s, "after the backlog")) / 1000);
    part1.rssAfterBacklogMiB = mib("VmRSS");
    const r1 = await otherRate(s, "with-backlog");
    const restartMs = await s.restart();
    const t0 = performance.now();
    await waitFor(() => s.domainState("down.test")?.entries.size === BACKLOG, {
      what: "the backlog restored",
      timeoutMs: 600_000,
      intervalMs: 50,
    });
    const restoredMs = restartMs + (performance.now() - t0);
    await sleep(Math.max(0, 10_000 - (performance.now() - t0)));
    const attemptsAfter = (await s.scrape()).value("petrel_delivery_attempts_total", { domain: "down.test" });
    const r2 = await otherRate(s, "after-restart");
    Object.assign(part1, {
      rateAlone: Math.round(r0 * 10) / 10,
      rateWithBacklog: Math.round(r1 * 10) / 10,
      rateAfterRestart: Math.round(r2 * 10) / 10,
      ratioWithBacklog: Math.round((r1 / r0) * 100) / 100,
      ratioAfterRestart: Math.round((r2 / r0) * 100) / 100,
      restartMs: Math.round(restartMs),
      backlogRestoredMs: Math.round(restoredMs),
      attemptsToDownIn10sAfterRestart: attemptsAfter,
      rssEndMiB: mib("VmRSS"),
      rssPeakMiB: mib("VmHWM"),
    });
    log("part 1", part1);
  } finally {
    await s.stop();
  }
}

// Part 2: a destination whose MX answers after 5 s (issue 16).
async function part2Run(): Promise<void> {
  const slow = await startStack({
    plan: "business",
    slowGreetMs: 5_000,
    env: { PETREL_DELIVERY_BACKOFF_BASE_SECONDS: "60", PETREL_LOG_LEVEL: "fatal" },
  });
  try {
    await otherRate(slow, "warm-up (discarded)");
    const r0 = await otherRate(slow, "alone");
    const queueMs = await loadBacklog(slow, "slow.test", SLOW);
    await settle(slow, "after the slow backlog");
    await quiet("after the slow backlog");
    const r1 = await otherRate(slow, "with-slow-backlog");
    const part2 = {
      slow: SLOW,
      queueSeconds: Math.round(queueMs / 1000),
      rateAlone: Math.round(r0 * 10) / 10,
      rateWithSlowBacklog: Math.round(r1 * 10) / 10,
      ratio: Math.round((r1 / r0) * 100) / 100,
      slowDelivered: slow.slowPeer?.received.get("slow.test") ?? 0,
      rssPeakMiB: mib("VmHWM"),
    };
    log("part 2", part2);
  } finally {
    await slow.stop();
  }
}
