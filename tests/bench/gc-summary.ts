/**
 * Sums what tests/bench/gc-stats.mjs wrote for each relay run into a table, one row per file
 * (oldest first), so two builds' runs can be set side by side:
 *   npx tsx tests/bench/gc-summary.ts /tmp/gc
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

interface Stats {
  execArgv: string[];
  pauseMs: Record<string, number>;
  count: Record<string, number>;
  majorsForExternalMemory: number;
  threads: Record<string, number>;
}

const dir = process.argv[2];
if (!dir) {
  console.error("usage: npx tsx tests/bench/gc-summary.ts <BENCH_GC_DIR>");
  process.exit(2);
}
const files = readdirSync(dir)
  .filter((f) => /^gc-\d+\.json$/.test(f))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
if (files.length === 0) {
  console.error(
    `no gc-<pid>.json in ${dir}: was the relay started with --import ./tests/bench/gc-stats.mjs?`,
  );
  process.exit(1);
}
const ms = (n: number | undefined) => Math.round(n ?? 0);
const s = (ticks: number | undefined) => ((ticks ?? 0) / 100).toFixed(1);
console.log(
  "| run | main thread CPU s | other threads CPU s (by name) | minor GCs (pause ms) | major GCs (pause ms) | majors for external memory |",
);
console.log("| --- | ---: | --- | ---: | ---: | ---: |");
for (const f of files) {
  const g = JSON.parse(readFileSync(f, "utf8")) as Stats;
  const others = Object.entries(g.threads)
    .filter(([name]) => name !== "MAIN")
    .sort((a, b) => b[1] - a[1])
    .map(([name, t]) => `${name} ${s(t)}`)
    .join(", ");
  console.log(
    `| ${f.split("/").pop()} | ${s(g.threads.MAIN)} | ${others} | ${g.count.minor ?? 0} (${ms(g.pauseMs.minor)}) | ${g.count.major ?? 0} (${ms(g.pauseMs.major)}) | ${g.majorsForExternalMemory} |`,
  );
}
