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

/**
 * Issue 17: each guarded volume's free bytes and whether it is below the floor (1 = new mail
 * refused with 452 4.3.1), by `volume` (`data`, `content`); read from the guard's last measure.
 */
export function diskGauges(
  registry: Registry,
  guard: { status(): { volume: string; freeBytes: number; floorBytes: number; ok: boolean }[] },
): void {
  new Gauge({
    name: "petrel_disk_free_bytes",
    help: "Bytes available on the volume at the last measure (statfs).",
    labelNames: ["volume"] as const,
    registers: [registry],
    collect() {
      for (const s of guard.status()) this.set({ volume: s.volume }, s.freeBytes);
    },
  });
  new Gauge({
    name: "petrel_disk_floor_bytes",
    help: "The free-space floor of the volume (PETREL_DISK_MIN_FREE_BYTES).",
    labelNames: ["volume"] as const,
    registers: [registry],
    collect() {
      for (const s of guard.status()) this.set({ volume: s.volume }, s.floorBytes);
    },
  });
  new Gauge({
    name: "petrel_disk_below_floor",
    help: "1 while the volume is below its free-space floor and new messages get 452 4.3.1, else 0.",
    labelNames: ["volume"] as const,
    registers: [registry],
    collect() {
      for (const s of guard.status()) this.set({ volume: s.volume }, s.ok ? 0 : 1);
    },
  });
}
