/**
 * A failed insert is written again, not skipped: the sink keeps the batch and writes it first in
 * a later flush, before committing any later offset of its partitions (embedded log, chDB).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, describe, expect, it } from "vitest";
import { SINK_GROUP, startSink } from "../../shared/analytics/sink.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { readCommittedOffsets } from "../../shared/bus/log/offsets.ts";
import { openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { STATUS_EVENTS_TOPIC, type StatusEvent, statusEventRecord } from "../../shared/model/event.ts";
import { waitFor } from "../helpers/wait.ts";
import { deliveredEvents, storedEventIds } from "./fixture.ts";

const root = mkdtempSync(join(tmpdir(), "petrel-sink-retry-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const events = (from: number, n: number) => deliveredEvents("rt", from, n);

/** `client` whose inserts fail while `failures()` says so (ClickHouse unreachable, say); the others go through. */
function failing(client: ClickHouseClient, failures: () => boolean): ClickHouseClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "insert") {
        return async (params: Parameters<ClickHouseClient["insert"]>[0]) => {
          if (failures()) throw new Error("insert failed (test)");
          return target.insert(params);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

describe("event sink: a failed insert", () => {
  // The batch is written when its window ends (maxBatch 1000) or when it is full (maxBatch 10: the
  // flush runs inside the bus handler, which must not stop its partition when the insert fails).
  it.each([
    { trigger: "window", maxBatch: 1000 },
    { trigger: "full batch", maxBatch: 10 },
  ])(
    "is written again before later offsets are committed ($trigger)",
    async ({ maxBatch }) => {
      const dir = join(root, String(maxBatch));
      const h = await openClickHouse({ dataDir: join(root, "data"), database: `sink_retry_${maxBatch}` });
      await migrate(h.client);
      const bus = await LogBus.open({ dir: join(dir, "bus"), maintenanceIntervalMs: 0 });
      await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: 2 }]);
      let failures = 1;
      // The first insert fails; the others go through.
      const client = failing(h.client, () => failures-- > 0);
      const errors: unknown[] = [];
      const sink = await startSink({
        bus,
        client,
        maxBatch,
        flushMs: 50,
        onError: (e) => errors.push(e),
      });
      const publish = (list: StatusEvent[]) => bus.publish(STATUS_EVENTS_TOPIC, list.map(statusEventRecord));
      const stored = () => storedEventIds(h.client);
      try {
        await publish(events(0, 40));
        await waitFor(() => errors.length > 0, { what: "the failed insert" });
        await publish(events(40, 40));
        await waitFor(async () => (await stored()) === 80, {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: "80 events",
        });
        await sink.flush();
        expect(await stored()).toBe(80);
        expect(errors.map(String)).toEqual(["Error: insert failed (test)"]);
      } finally {
        await sink.close();
        await bus.close();
        await h.close();
      }
    },
    60_000,
  );

  it("that keeps failing holds its partition, commits nothing and lets the sink close", async () => {
    const dir = join(root, "down");
    const h = await openClickHouse({ dataDir: join(root, "data"), database: "sink_retry_down" });
    await migrate(h.client);
    const bus = await LogBus.open({ dir: join(dir, "bus"), maintenanceIntervalMs: 0 });
    await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: 1 }]);
    const errors: unknown[] = [];
    const sink = await startSink({
      bus,
      client: failing(h.client, () => true),
      maxBatch: 10,
      flushMs: 20,
      onError: (e) => errors.push(e),
    });
    try {
      await bus.publish(STATUS_EVENTS_TOPIC, events(0, 40).map(statusEventRecord));
      // The handler waits on the full batch and tries again, with growing pauses.
      await waitFor(() => errors.length >= 3, { timeoutMs: 30_000, what: "three failed tries" });
      expect(sink.stats.inserted).toBe(0);
    } finally {
      // Closing wakes the waiting handler (its partition is not stopped, so close waits for it).
      await sink.close();
    }
    await bus.close();
    // Nothing was stored, so nothing was committed: the next reader starts at the beginning.
    expect(readCommittedOffsets(join(dir, "bus"))[SINK_GROUP]).toBeUndefined();
    await h.close();
    expect(errors.every((e) => String(e) === "Error: insert failed (test)")).toBe(true);
  }, 60_000);
});
