/**
 * A fuzz target: opens what its property needs (a relay, an API world) and hands back the property.
 * The short runs in `npm test` (tests/fuzz/*.test.ts) and the long runs (`npm run fuzz`, run.ts) check
 * the same properties; only the seed and the number of runs differ.
 */
import type fc from "fast-check";

export interface OpenTarget {
  // biome-ignore lint/suspicious/noExplicitAny: each target's property has its own input type
  property: fc.IAsyncPropertyWithHooks<any> | fc.IPropertyWithHooks<any>;
  close(): Promise<void>;
}

export interface FuzzTarget {
  name: string;
  /** Runs of the short mode in `npm test` (a few seconds on a loaded 2-core machine). */
  shortRuns: number;
  /** Bound on one case, ms (fast-check's `timeout`): a case that takes longer is a hang. */
  caseTimeoutMs: number;
  open(): Promise<OpenTarget>;
}
