/**
 * The final-status pre-aggregate under the sink's replays (A6, exactly once in effect): the sink is
 * SIGKILLed right after an insert, before its offsets are committed, and started again, so whole
 * batches are inserted twice (with other boundaries); events include bounces superseding Delivered
 * in a later batch and producer duplicates. `stats_final` must equal the model of the events.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startSink } from "../../shared/analytics/sink.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { STATUS_EVENTS_TOPIC, type StatusEvent, statusEventId } from "../../shared/model/event.ts";
import type { RecipientStatus } from "../../shared/model/status.ts";
import { model, stored } from "./final-model.ts";
import { storedEventIds } from "./fixture.ts";

const root = mkdtempSync(join(tmpdir(), "petrel-final-replay-"));
const dataDir = join(root, "data");
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** 300 recipients over 6 accounts; 1 in 4 bounces after Delivered, its bounce published last. */
function makeEvents(): StatusEvent[] {
  const first: StatusEvent[] = [];
  const later: StatusEvent[] = [];
  const base = Date.now() - 5 * 86_400_000;
  for (let i = 0; i < 300; i++) {
    const rid = `fr${i}.0`;
    const ev = (status: RecipientStatus, k: number): StatusEvent => ({
      eventId: statusEventId(rid, status, 0),
      accountId: `acct-${i % 6}`,
      messageId: `<fr${i}@x>`,
      recipientId: rid,
      recipient: `r${i}@example.com`,
      recipientDomain: "example.com",
      sender: "s@acme.com",
      sendingDomain: i % 3 === 0 ? "news.acme.com" : "acme.com",
      smtpUser: "u",
      subject: `s ${i}`,
      status,
      reason: "none",
      remoteReply: "",
      mxHost: "",
      isTest: i % 29 === 0,
      ts: base + i * 7_000 + k * 60_000,
      attempt: 0,
    });
    if (i % 10 === 9) first.push(ev("Rejected", 0));
    else first.push(ev("Accepted", 0), ev(i % 5 === 0 ? "SoftBounce" : "Delivered", 1));
    if (i % 4 === 0 && i % 10 !== 9 && i % 5 !== 0) later.push(ev("HardBounce", 600));
  }
  return [...first, ...later];
}

async function publish(busDir: string, events: StatusEvent[]): Promise<void> {
  const bus = await LogBus.open({ dir: busDir, maintenanceIntervalMs: 0 });
  await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: 4 }]);
  const published = events.flatMap((e, j) => (j % 13 === 0 ? [e, e] : [e]));
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

describe("stats_final when the sink is killed between an insert and its commit", () => {
  it("counts every recipient once, by its final status", async () => {
    const events = makeEvents();
    const busDir = join(root, "bus");
    await publish(busDir, events);
    const proc = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        resolve(import.meta.dirname, "sink-child.ts"),
        dataDir,
        busDir,
        "final_replay",
        "kill-after-insert:5",
      ],
      { cwd: resolve(import.meta.dirname, "../.."), stdio: ["ignore", "pipe", "pipe"] },
    );
    const out: string[] = [];
    proc.stdout!.on("data", (d: Buffer) => out.push(...d.toString().split("\n").filter(Boolean)));
    const sig = await new Promise<NodeJS.Signals | null>((res) => proc.on("exit", (_c, s) => res(s)));
    expect(sig).toBe("SIGKILL");
    expect(out.filter((l) => l.startsWith("batch "))).toHaveLength(5);

    const h = await openClickHouse({ dataDir, database: "final_replay" });
    await migrate(h.client);
    const bus = await LogBus.open({ dir: busDir, maintenanceIntervalMs: 0 });
    const sink = await startSink({ bus, client: h.client, maxBatch: 37, flushMs: 20 });
    try {
      // Bounded wait for the drain (the counts below are checked exactly, not the time).
      for (let i = 0; i < 600; i++) {
        if ((await storedEventIds(h.client)) >= events.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await sink.flush();
      const want = model(events);
      expect(await stored(h)).toEqual(want);
      // Not vacuous: superseded Delivered rows became HardBounce.
      const bounced = [...want.entries()].filter(([k]) => k.endsWith("|HardBounce"));
      expect(bounced.reduce((n, [, v]) => n + v, 0)).toBeGreaterThan(40);
    } finally {
      await sink.close();
      await bus.close();
      await h.close();
    }
  }, 180_000);
});
