/**
 * Runs once before the suites: makes a real Kafka broker available to the Kafka suites.
 * - PETREL_KAFKA_BROKERS set: use that cluster.
 * - otherwise: assemble Apache Kafka from Maven Central and start one broker on loopback.
 * When neither works, the Kafka suites skip with a loud line — except in CI (CI=true), where
 * that is a failure.
 */
import type { TestProject } from "vitest/node";
import { startKafkaBroker } from "../kafka/broker.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string;
    kafkaUnavailable: string;
  }
}

export default async function setup(project: TestProject) {
  const wantsKafka = process.env.PETREL_TEST_KAFKA !== "0";
  if (process.env.PETREL_KAFKA_BROKERS) {
    project.provide("kafkaBrokers", process.env.PETREL_KAFKA_BROKERS);
    project.provide("kafkaUnavailable", "");
    return;
  }
  if (!wantsKafka) {
    project.provide("kafkaBrokers", "");
    project.provide("kafkaUnavailable", "PETREL_TEST_KAFKA=0");
    return;
  }
  try {
    const broker = await startKafkaBroker();
    console.log(`[petrel tests] Kafka broker started at ${broker.brokers} (pid ${broker.pid})`);
    project.provide("kafkaBrokers", broker.brokers);
    project.provide("kafkaUnavailable", "");
    return async () => {
      await broker.stop();
    };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (process.env.CI) throw new Error(`CI needs the Kafka broker and it could not start: ${why}`);
    console.warn(
      `\n${"!".repeat(78)}\n[petrel tests] SKIPPING KAFKA SUITES: no broker (${why.split("\n")[0]})\n${"!".repeat(78)}\n`,
    );
    project.provide("kafkaBrokers", "");
    project.provide("kafkaUnavailable", why.split("\n")[0] ?? why);
  }
}
