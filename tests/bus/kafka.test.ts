/** The bus contract on a real Apache Kafka broker (see tests/setup/global.ts). */
import { describe } from "vitest";
import { KafkaBus } from "../../shared/bus/kafka/kafka-bus.ts";
import { kafkaBrokers } from "../helpers/kafka.ts";
import { busContract } from "./bus.case.ts";

const brokers = kafkaBrokers("bus contract on Kafka");

if (brokers) {
  busContract("kafka", async () => {
    const bus = new KafkaBus({
      brokers,
      clientId: "bus-contract",
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    });
    return { bus, cleanup: () => bus.close() };
  });
} else {
  describe.skip("bus contract: kafka (no broker)", () => {});
}
