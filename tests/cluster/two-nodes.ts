/**
 * Two relay nodes in one process (X2 without Kafka): two ActorSystems on one embedded LogBus share
 * the actor partitions through its consumer groups, each with its own DirectoryView and
 * AccountService, as two Kafka nodes would. Node B's view can be held back (each directory record
 * delayed, or not delivered at all) to stand for a node whose view lags behind.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccountBehavior } from "../../actors/account/behavior.ts";
import { AccountService } from "../../actors/account/service.ts";
import { SystemClock } from "../../actors/clock.ts";
import { ActorSystem } from "../../actors/system.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import type { Bus, SubscribeOptions } from "../../shared/bus/types.ts";
import { DIRECTORY_TOPIC } from "../../shared/directory/entries.ts";
import { DirectoryView } from "../../shared/directory/view.ts";
import type { Plan } from "../../shared/model/account/protocol.ts";
import { loadServerSecrets } from "../../shared/security/secrets.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

export const PARTITIONS = 4;
export const PLANS: Plan[] = [
  { name: "starter", monthlyRecipients: 1_000, priceCents: 1_500, currency: "USD" },
];
/** PETREL_HMAC_KEY of the cluster: the same on both nodes. */
export const CLUSTER_HMAC_KEY = Buffer.alloc(32, 0x5a).toString("base64url");

export interface TestNode {
  nodeId: string;
  system: ActorSystem;
  directory: DirectoryView;
  service: AccountService;
  hmacKey: Uint8Array;
}

/** How node B's view receives directory records: `delayMs` each, none while `paused`. */
export interface ViewLag {
  delayMs: number;
  paused: boolean;
}

export interface TwoNodes {
  bus: LogBus;
  a: TestNode;
  b: TestNode;
  lag: ViewLag;
  /** A further AccountService (on node B's actors and view) under another HMAC key. */
  serviceWithKey(hmacKey: Uint8Array): AccountService;
  stop(): Promise<void>;
}

/** The bus as a view sees it: directory records pass `lag` first. */
function lagging(bus: Bus, lag: ViewLag): Bus {
  return new Proxy(bus, {
    get(target, prop) {
      if (prop === "subscribe")
        return (o: SubscribeOptions) =>
          target.subscribe({
            ...o,
            handler: async (r) => {
              if (r.topic === DIRECTORY_TOPIC) {
                if (lag.delayMs > 0) await sleep(lag.delayMs);
                while (lag.paused) await sleep(10);
              }
              return o.handler(r);
            },
          });
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

export async function startTwoNodes(
  o: { authSyncTimeoutMs?: number; register?: (system: ActorSystem) => void } = {},
): Promise<TwoNodes> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-two-nodes-"));
  const bus = await LogBus.open({ dir: join(dir, "bus"), maintenanceIntervalMs: 0 });
  const clock = new SystemClock();
  const lag: ViewLag = { delayMs: 0, paused: false };
  const nodes: TestNode[] = [];
  for (const nodeId of ["a", "b"]) {
    const system = new ActorSystem({ bus, nodeId, clock, partitions: PARTITIONS, localAsk: true });
    system.register(createAccountBehavior({ partitions: PARTITIONS, retentionDays: 30, reverifyHours: 24 }));
    o.register?.(system);
    await system.start();
    const directory = await DirectoryView.open({ bus: nodeId === "b" ? lagging(bus, lag) : bus, nodeId });
    // Each node its own data dir; the HMAC key from the configuration (PETREL_HMAC_KEY).
    const dataDir = mkdtempSync(join(dir, `node-${nodeId}-`));
    const { hmacKey } = loadServerSecrets(dataDir, { hmacKey: CLUSTER_HMAC_KEY });
    const service = new AccountService({
      actors: system,
      plans: PLANS,
      hmacKey,
      directory,
      clock,
      ...(o.authSyncTimeoutMs !== undefined ? { authSyncTimeoutMs: o.authSyncTimeoutMs } : {}),
    });
    nodes.push({ nodeId, system, directory, service, hmacKey });
  }
  const [a, b] = nodes as [TestNode, TestNode];
  await waitFor(
    () =>
      a.system.ownedPartitions("account").length + b.system.ownedPartitions("account").length ===
        PARTITIONS &&
      a.system.ownedPartitions("account").length > 0 &&
      b.system.ownedPartitions("account").length > 0,
    { what: "account partitions split between the two nodes" },
  );
  return {
    bus,
    a,
    b,
    lag,
    serviceWithKey: (hmacKey) =>
      new AccountService({ actors: b.system, plans: PLANS, hmacKey, directory: b.directory, clock }),
    async stop() {
      lag.paused = false;
      lag.delayMs = 0;
      for (const n of [b, a]) {
        await n.directory.close();
        await n.system.stop();
      }
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
