// A preload for a relay under a bench: where its CPU went by thread, and its main thread's
// garbage collections — pauses by kind, and how many major ones V8 started because external
// memory (ArrayBuffers: socket reads, file reads, Buffers) had grown, not the JS heap.
// Written at exit to $BENCH_GC_DIR/gc-<pid>.json (default the OS temp dir); summed over runs by
// `npx tsx tests/bench/gc-summary.ts <dir>`. Plain JavaScript so `--import` takes it as it is:
//   BENCH_GC_DIR=/tmp/gc BENCH_NODE_ARGS="--import ./tests/bench/gc-stats.mjs" npm run bench:ingress
// Why: a 3-run A/B of msg/s cannot resolve a lever under ~10 % on this 2-core machine
// (BENCHMARKS.md, issue 16 sessions 14 and 16); thread CPU and GC counts answer in two runs.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";

if (isMainThread) {
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
    [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
  };
  const pauseMs = {};
  const count = {};
  let majorsForExternalMemory = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[e.detail?.kind] ?? "other";
      pauseMs[kind] = (pauseMs[kind] ?? 0) + e.duration;
      count[kind] = (count[kind] ?? 0) + 1;
      if (
        kind === "major" &&
        (e.detail?.flags & constants.NODE_PERFORMANCE_GC_FLAGS_ALL_EXTERNAL_MEMORY) !== 0
      )
        majorsForExternalMemory++;
    }
  }).observe({ entryTypes: ["gc"] });

  process.on("exit", () => {
    // CPU ticks (1/100 s) per thread name since the thread started; the main thread as MAIN.
    const threads = {};
    for (const tid of readdirSync("/proc/self/task")) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        const name =
          tid === String(process.pid) ? "MAIN" : readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
        const f = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
        threads[name] = (threads[name] ?? 0) + Number(f[11]) + Number(f[12]);
      } catch {
        // the thread ended meanwhile
      }
    }
    const out = join(process.env.BENCH_GC_DIR ?? tmpdir(), `gc-${process.pid}.json`);
    writeFileSync(
      out,
      JSON.stringify({ execArgv: process.execArgv, pauseMs, count, majorsForExternalMemory, threads }),
    );
  });
}
