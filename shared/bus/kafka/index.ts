export { KafkaBus, type KafkaBusLogLevel, type KafkaBusOptions } from "./kafka-bus.ts";
