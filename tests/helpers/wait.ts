import { setTimeout as sleep } from "node:timers/promises";

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; bounded, never a busy loop. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 20_000, intervalMs = 20, what = "condition" as string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  const label = typeof what === "function" ? what() : what;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${last ? `: ${String(last)}` : ""}`);
}

export { sleep };
