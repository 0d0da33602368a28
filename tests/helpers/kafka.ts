import { inject } from "vitest";

/** The test broker's address, or undefined (with a loud line) when the Kafka suites must skip. */
export function kafkaBrokers(suite: string): string[] | undefined {
  const brokers = inject("kafkaBrokers");
  if (brokers) return brokers.split(",");
  if (process.env.CI) throw new Error(`${suite}: CI must run the Kafka suites, but no broker is available`);
  console.warn(`[petrel tests] SKIP ${suite}: no Kafka broker (${inject("kafkaUnavailable")})`);
  return undefined;
}
