/**
 * Bus benchmark (issue: foundation, "Measure"): 1 KiB records, fsync on, 1 / 16 / 128 concurrent
 * publishers each awaiting its own publish before the next; records/s and p50/p99 publish
 * latency. Runs the embedded log and Kafka (through kafkajs, acks=all, idempotent) in the same
 * run and prints the ratio. Medians over RUNS runs of SECONDS each.
 *
 *   npm run bench:bus                     # starts a local Kafka broker itself
 *   PETREL_KAFKA_BROKERS=127.0.0.1:9092 npm run bench:bus
 *   BENCH_RUNS=5 BENCH_SECONDS=5 npm run bench:bus
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { KafkaBus } from "../../shared/bus/kafka/kafka-bus.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import type { Bus } from "../../shared/bus/types.ts";
import { startKafkaBroker } from "../kafka/broker.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? "1,16,128").split(",").map(Number);
const PARTITIONS = 8;
const value = new Uint8Array(1024).map((_, i) => i & 0xff);

interface RunResult {
  rps: number;
  p50: number;
  p99: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function run(bus: Bus, topic: string, publishers: number): Promise<RunResult> {
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: publishers }, async (_, p) => {
      let i = 0;
      while (performance.now() < end) {
        const t0 = performance.now();
        await bus.publish(topic, [{ key: `pub-${p}-${i++ % 64}`, value }]);
        latencies.push(performance.now() - t0);
        n++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: n / elapsed, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) };
}

async function bench(name: string, bus: Bus): Promise<Map<number, RunResult>> {
  const out = new Map<number, RunResult>();
  for (const c of CONCURRENCY) {
    const runs: RunResult[] = [];
    for (let r = 0; r < RUNS; r++) {
      const topic = `bench-${c}-${r}-${Date.now()}`;
      await bus.ensureTopics([{ name: topic, partitions: PARTITIONS }]);
      await run(bus, topic, c); // warm-up run is discarded: first runs pay for connections and files
      runs.push(await run(bus, topic, c));
    }
    const m = {
      rps: median(runs.map((x) => x.rps)),
      p50: median(runs.map((x) => x.p50)),
      p99: median(runs.map((x) => x.p99)),
    };
    out.set(c, m);
    console.log(
      `${name.padEnd(6)} publishers=${String(c).padStart(3)}  ${m.rps.toFixed(0).padStart(7)} rec/s  p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms  (median of ${RUNS}: ${runs.map((x) => x.rps.toFixed(0)).join(", ")})`,
    );
  }
  return out;
}

async function main() {
  console.log(
    `machine: ${cpus().length} cores, ${cpus()[0]?.model}; node ${process.version}; ${RUNS} runs x ${SECONDS} s, 1 KiB records, ${PARTITIONS} partitions`,
  );
  const dir = mkdtempSync(join(tmpdir(), "petrel-bench-"));
  const log = await LogBus.open({ dir });
  const logResults = await bench("log", log);
  await log.close();
  rmSync(dir, { recursive: true, force: true });

  const broker = process.env.PETREL_KAFKA_BROKERS ? undefined : await startKafkaBroker();
  const brokers = process.env.PETREL_KAFKA_BROKERS ?? broker!.brokers;
  const kafka = new KafkaBus({ brokers: brokers.split(","), clientId: "petrel-bench" });
  const kafkaResults = await bench("kafka", kafka);
  await kafka.close();
  await broker?.stop();

  console.log("\n| publishers | log rec/s | log p99 ms | kafka rec/s | kafka p99 ms | log/kafka rec/s |");
  console.log("|---:|---:|---:|---:|---:|---:|");
  for (const c of CONCURRENCY) {
    const l = logResults.get(c)!;
    const k = kafkaResults.get(c)!;
    console.log(
      `| ${c} | ${l.rps.toFixed(0)} | ${l.p99.toFixed(2)} | ${k.rps.toFixed(0)} | ${k.p99.toFixed(2)} | ${(l.rps / k.rps).toFixed(2)} |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
