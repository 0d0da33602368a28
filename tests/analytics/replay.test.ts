/**
 * Exactly once in effect (issue 6): the sink is killed mid-batch (SIGKILL, in a child process) and
 * started again; the stored rows match the published events exactly, and so do the derived figures.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startSink } from "../../shared/analytics/sink.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { STATUS_EVENTS_TOPIC, type StatusEvent } from "../../shared/model/event.ts";
import type { RECIPIENT_STATUSES } from "../../shared/model/status.ts";
import { recipientEvent } from "./fixture.ts";

const root = mkdtempSync(join(tmpdir(), "petrel-sink-replay-"));
const dataDir = join(root, "data");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const N_RECIPIENTS = 400;
const ACCOUNTS = 12;

/** 400 recipients × 2–3 events, some published twice (producer retries), across 12 accounts. */
function makeEvents(): { events: StatusEvent[]; published: StatusEvent[] } {
  const events: StatusEvent[] = [];
  const base = Date.now() - 3 * 86_400_000;
  for (let i = 0; i < N_RECIPIENTS; i++) {
    const account = `acct-${i % ACCOUNTS}`;
    const rid = `msg${i}.0`;
    const finals = ["Delivered", "SoftBounce", "HardBounce"] as const;
    const seq: (typeof RECIPIENT_STATUSES)[number][] = ["Accepted", finals[i % 3]!];
    if (i % 7 === 0) seq.push("HardBounce"); // a later bounce
    seq.forEach((status, k) => {
      events.push(
        recipientEvent({
          i,
          recipientId: rid,
          messageId: `<m${i}@x>`,
          accountId: account,
          status,
          ts: base + i * 1000 + k * 100,
          attempt: k,
        }),
      );
    });
  }
  const published = events.flatMap((e, j) => (j % 11 === 0 ? [e, e] : [e]));
  return { events, published };
}

async function publish(busDir: string, published: StatusEvent[]): Promise<void> {
  const bus = await LogBus.open({ dir: busDir, maintenanceIntervalMs: 0 });
  await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: 4 }]);
  for (let i = 0; i < published.length; i += 100) {
    await bus.publish(
      STATUS_EVENTS_TOPIC,
      published
        .slice(i, i + 100)
        .map((e) => ({ key: e.accountId, value: new TextEncoder().encode(JSON.stringify(e)) })),
    );
  }
  await bus.close();
}

function child(
  busDir: string,
  database: string,
  mode: string,
): { proc: ChildProcess; out: string[]; exit: Promise<NodeJS.Signals | null> } {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", resolve(import.meta.dirname, "sink-child.ts"), dataDir, busDir, database, mode],
    { cwd: resolve(import.meta.dirname, "../.."), stdio: ["ignore", "pipe", "pipe"] },
  );
  const out: string[] = [];
  proc.stdout!.on("data", (d: Buffer) => out.push(...d.toString().split("\n").filter(Boolean)));
  proc.stderr!.on("data", (d: Buffer) => out.push(`ERR ${d.toString()}`));
  const exit = new Promise<NodeJS.Signals | null>((res) => proc.on("exit", (_c, sig) => res(sig)));
  return { proc, out, exit };
}

/** Restarts the sink in this process and lets it drain the topic; returns what is stored. */
async function restartAndCount(busDir: string, database: string, expected: number) {
  const h = await openClickHouse({ dataDir, database });
  await migrate(h.client);
  const bus = await LogBus.open({ dir: busDir, maintenanceIntervalMs: 0 });
  const sink = await startSink({
    bus,
    client: h.client,
    maxBatch: 50,
    flushMs: 20,
    // Retried by the sink; shown so that a run that misses its counts says why.
    onError: (e) => console.warn("sink error after the restart:", e),
  });
  const q = async <T>(query: string) =>
    (await (await h.client.query({ query, format: "JSONEachRow" })).json()) as T[];
  try {
    // Bounded wait for the drain (not a timing assertion: the counts below are checked exactly).
    for (let i = 0; i < 600; i++) {
      const [c] = await q<{ n: string }>("SELECT uniqExact(event_id) AS n FROM events");
      if (Number(c!.n) >= expected) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await sink.flush();
    const [rowsRaw] = await q<{ n: string; u: string }>(
      "SELECT count() AS n, uniqExact(event_id) AS u FROM events FINAL",
    );
    const finals = await q<{ s: string; n: string }>(
      "SELECT s, count() AS n FROM (SELECT recipient_id, argMaxMerge(status) AS s FROM recipient_final GROUP BY recipient_id) GROUP BY s ORDER BY s",
    );
    const daily = await q<{ s: string; n: string }>(
      "SELECT status AS s, toString(sum(n)) AS n FROM (SELECT status, uniqExactMerge(recipients) AS n FROM stats_daily GROUP BY account_id, sending_domain, day, status) GROUP BY s ORDER BY s",
    );
    return { rows: Number(rowsRaw!.n), unique: Number(rowsRaw!.u), finals, daily, stats: { ...sink.stats } };
  } finally {
    await sink.close();
    await bus.close();
    await h.close();
  }
}

function expectedFinals(events: StatusEvent[]) {
  const last = new Map<string, StatusEvent>();
  for (const e of events) {
    const cur = last.get(e.recipientId);
    if (!cur || e.ts > cur.ts) last.set(e.recipientId, e);
  }
  const by = new Map<string, number>();
  for (const e of last.values()) by.set(e.status, (by.get(e.status) ?? 0) + 1);
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, n]) => ({ s, n: String(n) }));
}

function expectedDaily(events: StatusEvent[]) {
  const seen = new Set<string>();
  const by = new Map<string, number>();
  for (const e of events) {
    const k = `${e.accountId}|${new Date(e.ts).toISOString().slice(0, 10)}|${e.status}|${e.recipientId}`;
    if (seen.has(k)) continue;
    seen.add(k);
    by.set(e.status, (by.get(e.status) ?? 0) + 1);
  }
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, n]) => ({ s, n: String(n) }));
}

describe("event sink replay", () => {
  const { events, published } = makeEvents();

  it("killed between an insert and its offset commit: the batch comes again and is not stored twice", async () => {
    const busDir = join(root, "bus-1");
    await publish(busDir, published);
    const c = child(busDir, "replay_commit", "kill-after-insert:4");
    expect(await c.exit).toBe("SIGKILL");
    expect(c.out.filter((l) => l.startsWith("batch "))).toHaveLength(4);

    const got = await restartAndCount(busDir, "replay_commit", events.length);
    expect(got.rows).toBe(events.length);
    expect(got.unique).toBe(events.length);
    // The 4th batch was inserted but not committed: it was read again and inserted again; the rows
    // as every query reads them (FINAL) and the derived figures still count each event once.
    expect(got.finals).toEqual(expectedFinals(events));
    expect(got.daily).toEqual(expectedDaily(events));
  }, 180_000);

  it("killed by the parent at an arbitrary point mid-stream: counts still exact", async () => {
    const busDir = join(root, "bus-2");
    await publish(busDir, published);
    const c = child(busDir, "replay_random", "run");
    for (let i = 0; i < 600 && c.out.filter((l) => l.startsWith("batch ")).length < 6; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    c.proc.kill("SIGKILL");
    expect(await c.exit).toBe("SIGKILL");
    expect(c.out.filter((l) => l.startsWith("batch ")).length).toBeGreaterThanOrEqual(6);

    const got = await restartAndCount(busDir, "replay_random", events.length);
    expect(got.rows, `the child's last lines:\n${c.out.slice(-5).join("\n")}`).toBe(events.length);
    expect(got.unique).toBe(events.length);
    expect(got.finals).toEqual(expectedFinals(events));
    expect(got.daily).toEqual(expectedDaily(events));
  }, 180_000);
});
