/** Prometheus metrics (X4): one registry per process, passed down; components add their own series. */
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";

export function createMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "petrel_" });
  return registry;
}

/**
 * `petrel_content_stored_bytes` (X5): the content store's size, sampled at most every 30 s (an S3
 * store lists its objects to answer).
 */
export function contentBytesGauge(
  registry: Registry,
  store: { storedBytes(): Promise<number> },
  maxAgeMs = 30_000,
): void {
  let last: { at: number; value: number } | undefined;
  new Gauge({
    name: "petrel_content_stored_bytes",
    help: "Bytes of message content in the content store (deleted once every recipient is final).",
    registers: [registry],
    async collect() {
      const now = Date.now();
      if (!last || now - last.at >= maxAgeMs)
        last = { at: now, value: await store.storedBytes().catch(() => last?.value ?? 0) };
      this.set(last.value);
    },
  });
}

export type { Registry };
