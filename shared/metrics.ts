/** Prometheus metrics (X4): one registry per process, passed down; components add their own series. */
import { collectDefaultMetrics, Registry } from "prom-client";

export function createMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "petrel_" });
  return registry;
}

export type { Registry };
