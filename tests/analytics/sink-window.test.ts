/**
 * The sink's gather window (issue 16): every insert costs chDB about the same whatever its size,
 * so under a heavy stream the window doubles after each heavy insert up to `flushMaxMs`, and halves
 * back to `flushMs` after light ones. Embedded log and real chDB; every event still lands once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { nextWindow, startSink } from "../../shared/analytics/sink.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import { STATUS_EVENTS_TOPIC, statusEventRecord } from "../../shared/model/event.ts";
import { waitFor } from "../helpers/wait.ts";
import { deliveredEvents, storedEventIds } from "./fixture.ts";

const root = mkdtempSync(join(tmpdir(), "petrel-sink-window-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const events = (from: number, n: number) => deliveredEvents("sw", from, n);

/** A migrated chDB database and an embedded log with `partitions` status-event partitions. */
async function openStore(name: string, partitions: number) {
  const h = await openClickHouse({ dataDir: join(root, "data"), database: name });
  await migrate(h.client);
  const bus = await LogBus.open({ dir: join(root, `bus-${name}`), maintenanceIntervalMs: 0 });
  await bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions }]);
  return { h, bus };
}

describe("event sink: gather window", () => {
  const o = { flushMs: 40, flushMaxMs: 160, heavyBatch: 20 };

  it("stays between its floor and ceiling, reaches the ceiling under heavy inserts and the floor under light ones", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 40 }),
        (floor, extra, heavyBatch, sizes) => {
          const w = { flushMs: floor, flushMaxMs: floor + extra, heavyBatch };
          let window = floor;
          for (const n of sizes) {
            window = nextWindow(window, n, w);
            expect(window).toBeGreaterThanOrEqual(w.flushMs);
            expect(window).toBeLessThanOrEqual(w.flushMaxMs);
          }
          // 20 doublings cover any ceiling here; 20 halvings any way back.
          for (let i = 0; i < 20; i++) window = nextWindow(window, heavyBatch, w);
          expect(window).toBe(w.flushMaxMs);
          for (let i = 0; i < 20; i++) window = nextWindow(window, heavyBatch - 1, w);
          expect(window).toBe(w.flushMs);
        },
      ),
    );
  });

  it("gathers longer under a heavy stream and comes back when it lightens, losing no event", async () => {
    const { h, bus } = await openStore("sink_window", 2);
    const insertedAt: number[] = [];
    const sink = await startSink({
      bus,
      client: h.client,
      maxBatch: 10_000,
      ...o,
      hooks: { beforeInsert: () => void insertedAt.push(performance.now()) },
    });
    let next = 0;
    /** Publishes `n` events at once and waits for their insert; returns the window it was gathered in and how long that took. */
    const round = async (n: number) => {
      const window = sink.stats.windowMs;
      const batches = sink.stats.batches;
      const start = performance.now();
      await bus.publish(STATUS_EVENTS_TOPIC, events(next, n).map(statusEventRecord));
      next += n;
      await waitFor(() => sink.stats.batches > batches, { what: `the insert of ${n} events` });
      return { window, waited: (insertedAt[insertedAt.length - 1] as number) - start };
    };
    try {
      const seen: number[] = [];
      for (const n of [25, 25, 25, 25, 5, 5, 5]) {
        const { window, waited } = await round(n);
        seen.push(window);
        // A timer never fires early: each batch waited at least the window in force when it began.
        expect(waited).toBeGreaterThanOrEqual(window - 2);
      }
      expect(seen).toEqual([40, 80, 160, 160, 160, 80, 40]);
      expect(sink.stats.windowMs).toBe(40);
      expect(sink.stats.inserted).toBe(next);
      expect(await storedEventIds(h.client)).toBe(next);
    } finally {
      await sink.close();
      await bus.close();
      await h.close();
    }
  }, 60_000);

  it("writes a full batch once when several partitions find it full, not again for the rows that came meanwhile", async () => {
    const { h, bus } = await openStore("sink_full", 4);
    const sizes: number[] = [];
    const sink = await startSink({
      bus,
      client: h.client,
      maxBatch: 100,
      // No window flush during the test: only full batches are written until the end.
      flushMs: 60_000,
      hooks: {
        beforeInsert: async (rows) => {
          sizes.push(rows);
          // A slow insert: every partition's handler meets the full batch while it runs.
          await new Promise((r) => setTimeout(r, 150));
        },
      },
    });
    try {
      const all = events(0, 440);
      // 110 events on each of the 4 partitions, published together.
      await Promise.all(
        [0, 1, 2, 3].map((partition) =>
          bus.publish(
            STATUS_EVENTS_TOPIC,
            all.filter((_, i) => i % 4 === partition).map((e) => ({ ...statusEventRecord(e), partition })),
          ),
        ),
      );
      await waitFor(() => sink.stats.inserted >= 400, { what: "four full batches" });
      // Every insert before the final flush was a full batch: none for the few rows that came in
      // while another partition's handler was writing.
      expect(sizes.length).toBeGreaterThanOrEqual(4);
      for (const n of sizes) expect(n).toBeGreaterThanOrEqual(100);
      // The rest (fewer than a batch, maybe not all handed to the sink yet) by explicit flushes.
      await waitFor(
        async () => {
          await sink.flush();
          return sink.stats.inserted >= 440;
        },
        { what: "the last 40 events" },
      );
      expect(sink.stats.inserted).toBe(440);
      expect(await storedEventIds(h.client)).toBe(440);
    } finally {
      await sink.close();
      await bus.close();
      await h.close();
    }
  }, 60_000);
});
