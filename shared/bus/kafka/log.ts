/**
 * kafkajs' console log, minus the protocol errors that are part of normal operation and that
 * kafkajs retries by itself (it logs each one at ERROR level, e.g. every rebalance).
 */
import { type logCreator, logLevel } from "kafkajs";

const ROUTINE = [
  "The group is rebalancing, so a rejoin is needed",
  "The coordinator is loading and hence can't process requests",
  "The group coordinator is not available",
  "This is not the correct coordinator for this group",
  "There is no leader for this topic-partition as we are in the middle of a leadership election",
  "The group member needs to have a valid member id before actually entering a consumer group",
];

export const quietLogCreator: logCreator =
  () =>
  ({ namespace, level, label, log }) => {
    const error = typeof log.error === "string" ? log.error : "";
    if (namespace === "Connection" && ROUTINE.some((r) => error.startsWith(r))) return;
    const { message, ...rest } = log;
    const line = JSON.stringify({
      level: label,
      ...rest,
      message: namespace ? `[${namespace}] ${message}` : message,
    });
    if (level === logLevel.ERROR) console.error(line);
    else if (level === logLevel.WARN) console.warn(line);
    else if (level === logLevel.INFO) console.info(line);
    else console.log(line);
  };
