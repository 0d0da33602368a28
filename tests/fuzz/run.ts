/**
 * Long fuzz runs: `npm run fuzz -- --minutes N [--only dsn,verp,...] [--runs R]`. Loops the same
 * properties as the short runs in `npm test`, each round with a fresh random seed and R runs, target
 * after target, until the time is up; prints each failure with its target, seed, path and
 * counterexample (replay it: fc.assert(property, { seed, path })) and any unhandled rejection.
 * Exit code 1 when anything failed.
 */
import { parseArgs } from "node:util";
import fc from "fast-check";
import type { FuzzTarget, OpenTarget } from "./target.ts";
import { TARGETS } from "./targets/index.ts";

const { values } = parseArgs({
  options: { minutes: { type: "string", default: "5" }, only: { type: "string" }, runs: { type: "string" } },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error("--minutes: a positive number");
const only = values.only?.split(",");
const chosen = TARGETS.filter((t) => !only || only.includes(t.name));
if (chosen.length === 0) throw new Error(`--only: none of ${TARGETS.map((t) => t.name).join(", ")}`);

const stray: unknown[] = [];
process.on("unhandledRejection", (e) => {
  stray.push(e);
  console.log(JSON.stringify({ unhandledRejection: String(e), stack: (e as Error)?.stack }));
});
process.on("uncaughtException", (e) => {
  stray.push(e);
  console.log(JSON.stringify({ uncaughtException: String(e), stack: e.stack }));
});

const opened = new Map<FuzzTarget, OpenTarget>();
for (const t of chosen) opened.set(t, await t.open());
const deadline = Date.now() + minutes * 60_000;
const tally = new Map<string, { cases: number; failures: number }>();
let failures = 0;
try {
  while (Date.now() < deadline) {
    for (const [t, o] of opened) {
      if (Date.now() >= deadline) break;
      const seed = (Math.random() * 2 ** 31) | 0;
      const numRuns = Number(values.runs ?? t.shortRuns);
      const params = { seed, numRuns, timeout: t.caseTimeoutMs };
      const r = o.property.isAsync()
        ? await fc.check(o.property as fc.IAsyncPropertyWithHooks<unknown>, params)
        : fc.check(o.property as fc.IPropertyWithHooks<unknown>, params);
      const s = tally.get(t.name) ?? { cases: 0, failures: 0 };
      s.cases += r.numRuns;
      if (r.failed) {
        s.failures++;
        failures++;
        console.log(
          JSON.stringify({
            target: t.name,
            seed: r.seed,
            path: r.counterexamplePath,
            counterexample: fc.stringify(r.counterexample),
            error: String((r.errorInstance as Error | undefined)?.message ?? r.errorInstance).slice(0, 2000),
          }),
        );
      }
      tally.set(t.name, s);
    }
  }
} finally {
  for (const o of opened.values()) await o.close();
}
console.log(JSON.stringify({ minutes, targets: Object.fromEntries(tally), stray: stray.length }));
process.exit(failures > 0 || stray.length > 0 ? 1 : 0);
