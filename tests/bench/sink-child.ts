/**
 * The process measured by tests/bench/sink.bench.ts: the analytics sink on the embedded log and
 * chDB, fed SINK_RATE status events a second for SINK_SECONDS by a timer in the same process.
 * Prints one JSON line: CPU, inserts and the lag of each insert (the sink's X4 metric hook).
 */
import { join } from "node:path";
import { startSink } from "../../shared/analytics/sink.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { openClickHouse } from "../../shared/clickhouse/client.ts";
import { migrate } from "../../shared/clickhouse/migrations.ts";
import {
  STATUS_EVENTS_TOPIC,
  type StatusEvent,
  statusEventId,
  statusEventRecord,
} from "../../shared/model/event.ts";

const dir = process.env.SINK_DIR as string;
const rate = Number(process.env.SINK_RATE);
const seconds = Number(process.env.SINK_SECONDS);
// BENCH_STORE: insert into a store loaded by bench:analytics (its BENCH_DIR, database `bench`)
// instead of an empty one, to see what an insert costs beside a large history.
const store = process.env.BENCH_STORE;
const h = await openClickHouse(
  store ? { dataDir: store, database: "bench" } : { dataDir: join(dir, "data") },
);
await migrate(h.client);
const bus = await LogBus.open({ dir: join(dir, "bus") });
const lags: number[] = [];
const sink = await startSink({
  bus,
  client: h.client,
  partitions: 8,
  maxBatch: 5_000,
  flushMs: Number(process.env.SINK_FLOOR),
  flushMaxMs: Number(process.env.SINK_CEILING),
  metrics: { batch: (_n, lagSeconds) => void lags.push(lagSeconds * 1000) },
});

let n = 0;
/** Two events per message (Accepted, Delivered), as a delivered one-recipient message makes. */
function event(i: number): StatusEvent {
  const rid = `m${i >> 1}.0`;
  const status = i % 2 === 0 ? "Accepted" : "Delivered";
  return {
    eventId: statusEventId(rid, status, i % 2),
    accountId: `acct-${(i >> 1) % 4}`,
    messageId: `<m${i >> 1}@shop.example>`,
    recipientId: rid,
    recipient: `user${i >> 1}@sink.example`,
    recipientDomain: "sink.example",
    sender: "app@shop.example",
    sendingDomain: "shop.example",
    smtpUser: "app",
    subject: `Your order ${i >> 1} has shipped`,
    headerFrom: "Shop <app@shop.example>",
    status,
    reason: "none",
    remoteReply: status === "Delivered" ? "250 2.0.0 Ok: queued" : "",
    mxHost: status === "Delivered" ? "127.0.0.1" : "",
    isTest: false,
    ts: Date.now(),
    attempt: i % 2,
  };
}

// 20 publishes a second, as group commits of a busy relay would make them.
const perTick = Math.max(1, Math.round(rate / 20));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    if (performance.now() - t0 >= seconds * 1000) {
      clearInterval(timer);
      resolve();
      return;
    }
    const records = Array.from({ length: perTick }, () => statusEventRecord(event(n++)));
    void bus.publish(STATUS_EVENTS_TOPIC, records);
  }, 50);
});
const cpu = process.cpuUsage(cpu0);
const elapsed = performance.now() - t0;
const cpuMs = (cpu.user + cpu.system) / 1000;
await sink.close();
await bus.close();
await h.close();
const sorted = [...lags].sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    cpuMsPerSecond: cpuMs / (elapsed / 1000),
    cpuMsPer1000: (cpuMs / n) * 1000,
    inserts: sink.stats.batches,
    lagP50Ms: sorted[Math.floor(sorted.length / 2)] ?? 0,
    lagMaxMs: sorted[sorted.length - 1] ?? 0,
    events: n,
  })}\n`,
);
process.exit(0);
