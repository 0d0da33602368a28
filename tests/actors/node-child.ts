/**
 * One actor node on Kafka for the placement test: hosts the counter behavior, reports what it
 * owns and hosts on stdout, answers `live` on stdin, and asks on behalf of the test
 * (`ask <id> <key> <json message>` → `answer <id> <json>` or `failed <id> <error>`).
 * Env: BROKERS, NODE, PARTITIONS.
 */
import { createInterface } from "node:readline";
import { SystemClock } from "../../actors/clock.ts";
import { ActorSystem } from "../../actors/system.ts";
import { KafkaBus } from "../../shared/bus/kafka/kafka-bus.ts";
import { counterBehavior } from "./counter.ts";

const node = process.env.NODE!;
const bus = new KafkaBus({
  brokers: process.env.BROKERS!.split(","),
  clientId: `node-${node}`,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
});
const system = new ActorSystem({
  bus,
  nodeId: node,
  clock: new SystemClock(),
  partitions: Number(process.env.PARTITIONS),
  onError: (e, c) => console.error(`error ${c}: ${String(e)}`),
});
system.register(counterBehavior(node));
await system.start();

let last = "";
setInterval(() => {
  const owned = system.ownedPartitions("counter").join(",");
  if (owned !== last) {
    last = owned;
    console.log(`owned ${node} ${owned}`);
  }
}, 100);

createInterface({ input: process.stdin }).on("line", (line) => {
  const [cmd, ...keys] = line.trim().split(" ");
  if (cmd === "live") console.log(`live ${node} ${keys.filter((k) => system.isLive(k)).join(",")}`);
  if (cmd === "ask") {
    const [id, key, ...msg] = keys;
    system.ask(key!, JSON.parse(msg.join(" ")), 30_000).then(
      (answer) => console.log(`answer ${id} ${JSON.stringify(answer)}`),
      (e: unknown) => console.log(`failed ${id} ${String(e)}`),
    );
  }
});

process.once("SIGTERM", () => {
  void system
    .stop()
    .then(() => bus.close())
    .then(() => process.exit(0));
});
