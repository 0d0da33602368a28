/**
 * Runs the event sink in a process of its own, for tests/analytics/replay.test.ts:
 *   tsx sink-child.ts <dataDir> <busDir> <database> <mode>
 * mode `kill-after-insert:N`: SIGKILLs itself right after the N-th batch was inserted, before its
 * offsets are committed (the worst moment). mode `run`: prints `batch <n>` after each batch and
 * runs until killed by the parent.
 */
import { startSink } from "../../shared/analytics/sink.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";

const [dataDir, busDir, database, mode] = process.argv.slice(2) as [string, string, string, string];
const killAt = mode.startsWith("kill-after-insert:") ? Number(mode.split(":")[1]) : -1;

const h = await openClickHouse({ dataDir, database });
await migrate(h.client);
const bus = await LogBus.open({ dir: busDir, maintenanceIntervalMs: 0 });
await startSink({
  bus,
  client: h.client,
  maxBatch: 50,
  flushMs: 20,
  onError: (e) => console.error("sink error", e),
  hooks: {
    afterInsert: (inserted, batch) => {
      console.log(`batch ${batch} inserted ${inserted}`);
      if (batch === killAt) process.kill(process.pid, "SIGKILL");
    },
  },
});
console.log("started");
setInterval(() => {}, 1000);
