/**
 * The short mode of a fuzz target inside `npm test`: a fixed seed (printed, with fast-check's
 * counterexample and path, when a run fails), the target's small number of runs, its per-case bound,
 * and no unhandled rejection or uncaught exception while it runs.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { FuzzTarget, OpenTarget } from "./target.ts";

export function shortRun(target: FuzzTarget, seed: number): void {
  let open: OpenTarget | undefined;
  const stray: unknown[] = [];
  const record = (e: unknown) => stray.push(e);
  beforeAll(async () => {
    process.on("unhandledRejection", record);
    process.on("uncaughtException", record);
    open = await target.open();
  }, 180_000);
  afterAll(async () => {
    await open?.close();
    process.off("unhandledRejection", record);
    process.off("uncaughtException", record);
  });
  it(`${target.name}: ${target.shortRuns} random cases (seed ${seed}) hold the property`, async () => {
    const p = open!.property;
    const params = { seed, numRuns: target.shortRuns, timeout: target.caseTimeoutMs, endOnFailure: true };
    if (p.isAsync()) await fc.assert(p as fc.IAsyncPropertyWithHooks<unknown>, params);
    else fc.assert(p as fc.IPropertyWithHooks<unknown>, params);
    expect(stray.map(String)).toEqual([]);
  }, 600_000);
}
