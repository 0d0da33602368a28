/** The domain actors' options (D5, D6) from the one config; defaults come from the schema too. */
import type { Config } from "../../shared/config/schema.ts";
import { backoffFromConfig } from "./backoff.ts";
import type { DomainOptions } from "./behavior.ts";

/** The domain actors' options from the one config (D5, D6): shared by the relay and the benches. */
export function domainOptionsFromConfig(config: Config): Partial<DomainOptions> {
  return {
    partitions: config.partitions,
    concurrency: config.deliveryConcurrency,
    prefetch: config.deliveryPrefetch,
    maxRetryMs: config.deliveryMaxRetryHours * 3_600_000,
    // A slot lease outlives the longest attempt (greeting + MAIL/RCPT + DATA timeouts), after the
    // longest wait of a prefetched one for its connection (as many attempts ahead of it).
    leaseMs: Math.max(10 * 60_000, config.deliveryTimeoutSeconds * 4_000 * (1 + config.deliveryPrefetch)),
    backoff: backoffFromConfig(config),
    circuitOpenMs: config.deliveryCircuitOpenSeconds * 1000,
    batchRecipients: config.deliveryBatchRecipients,
  };
}
