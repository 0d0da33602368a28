/**
 * A failed insert is written again, not skipped: the sink keeps the batch and writes it first in
 * a later flush, before committing any later offset of its partitions (embedded log, chDB).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, describe, expect, it } from "vitest";
import { startSink } from "../../shared/analytics/sink.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { STATUS_EVENTS_TOPIC, type StatusEvent } from "../../shared/model/event.ts";
import { waitFor } from "../helpers/wait.ts";
import { deliveredEvents } from "./fixture.ts";

const root = mkdtempSync(join(tmpdir(), "petrel-sink-retry-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const events = (from: number, n: number) => deliveredEvents("rt", from, n);

describe("event sink: a failed insert", () => {
  it("is written again before later offsets are committed", async () => {
    const h = await openClickHouse({ dataDir: join(root, "data"), database: "sink_retry" });
    await migrate(h.client);
    const bus = await LogBus.open({ dir: join(root, "bus"), maintenanceIntervalMs: 0 });
    await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: 2 }]);
    let failures = 1;
    // The first insert fails (ClickHouse unreachable, say); the others go through.
    const client = new Proxy(h.client, {
      get(target, prop, receiver) {
        if (prop === "insert") {
          return async (params: Parameters<ClickHouseClient["insert"]>[0]) => {
            if (failures > 0) {
              failures--;
              throw new Error("insert failed (test)");
            }
            return target.insert(params);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const errors: unknown[] = [];
    const sink = await startSink({
      bus,
      client,
      maxBatch: 1000,
      flushMs: 50,
      onError: (e) => errors.push(e),
    });
    const publish = (list: StatusEvent[]) =>
      bus.publish(
        STATUS_EVENTS_TOPIC,
        list.map((e) => ({ key: e.accountId, value: new TextEncoder().encode(JSON.stringify(e)) })),
      );
    const stored = async () => {
      const rs = await h.client.query({
        query: "SELECT uniqExact(event_id) AS n FROM events",
        format: "JSONEachRow",
      });
      return Number(((await rs.json()) as { n: string }[])[0]!.n);
    };
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
  }, 60_000);
});
