/**
 * The analytics sink's cost at a steady event rate (issue 16): `npm run bench:sink`.
 *
 * A child process runs the sink on the embedded log and chDB (as the relay does) while a timer
 * publishes BENCH_EVENTS_PER_S status events a second (default 600, about what live workload (d)
 * makes) for BENCH_SECONDS (default 30). Reported: the child's CPU-ms per second and per 1,000
 * events (publishing included, the same in every variant), the inserts made, and the Activity lag
 * (age of the oldest event of each insert, p50/max). Variants (BENCH_WINDOWS, `floor-ceiling` ms):
 * `1000-1000` (a fixed 1 s window, before issue 16's lever) and `1000-5000` (the default). Medians
 * of BENCH_RUNS (default 3), variants alternating. BENCH_STORE=<bench:analytics BENCH_DIR>: the
 * sink inserts into that loaded store (10 M events: acct-0 … acct-3, which the events go to, hold
 * ~255,000, 5,000 … recipients) instead of an empty one; the runs add their events to it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RATE = Number(process.env.BENCH_EVENTS_PER_S ?? 600);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WINDOWS = (process.env.BENCH_WINDOWS ?? "1000-1000,1000-5000").split(",");

interface Result {
  cpuMsPerSecond: number;
  cpuMsPer1000: number;
  inserts: number;
  lagP50Ms: number;
  lagMaxMs: number;
  events: number;
}

function runChild(window: string): Promise<Result> {
  const [floor, ceiling] = window.split("-").map(Number) as [number, number];
  const dir = mkdtempSync(join(tmpdir(), "petrel-bench-sink-"));
  const child = spawn(process.execPath, ["--import", "tsx", "tests/bench/sink-child.ts"], {
    env: {
      ...process.env,
      SINK_DIR: dir,
      SINK_RATE: String(RATE),
      SINK_SECONDS: String(SECONDS),
      SINK_FLOOR: String(floor),
      SINK_CEILING: String(ceiling),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`sink child exited with ${code}`));
      resolve(JSON.parse(out.trim().split("\n").pop() as string) as Result);
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const results = new Map<string, Result[]>(WINDOWS.map((w) => [w, []]));
for (let r = 0; r < RUNS; r++) {
  const order = r % 2 === 0 ? WINDOWS : [...WINDOWS].reverse();
  for (const w of order) results.get(w)?.push(await runChild(w));
}
console.log(
  `\n${RATE} events/s for ${SECONDS} s, medians of ${RUNS}, into ${process.env.BENCH_STORE ? `the store at ${process.env.BENCH_STORE}` : "an empty store"}\n\n| window floor-ceiling ms | CPU-ms per s | CPU-ms per 1,000 events | inserts | lag p50 ms | lag max ms | CPU-ms per s of each run |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |`,
);
for (const [w, rs] of results) {
  console.log(
    `| ${w} | ${median(rs.map((x) => x.cpuMsPerSecond)).toFixed(0)} | ${median(rs.map((x) => x.cpuMsPer1000)).toFixed(0)} | ${median(rs.map((x) => x.inserts))} | ${median(rs.map((x) => x.lagP50Ms)).toFixed(0)} | ${median(rs.map((x) => x.lagMaxMs)).toFixed(0)} | ${rs.map((x) => x.cpuMsPerSecond.toFixed(0)).join(" / ")} |`,
  );
}
