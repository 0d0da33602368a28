/**
 * A real account actor for tests: the LogBus in a temp dir, the ActorSystem on a ManualClock,
 * the account behavior registered (with the suppression and client IP ones), a DirectoryView
 * and an AccountService over them, and a collector of what the actor emits on its output topics.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccountBehavior } from "../../actors/account/behavior.ts";
import { AccountService } from "../../actors/account/service.ts";
import { createSuppressionBehavior } from "../../actors/account/suppression.ts";
import type { AnyBehavior } from "../../actors/behavior.ts";
import { createClientBehavior } from "../../actors/client/behavior.ts";
import { ManualClock } from "../../actors/clock.ts";
import { accountKey } from "../../actors/keys.ts";
import { ActorSystem } from "../../actors/system.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import type { BusRecord, Subscription } from "../../shared/bus/types.ts";
import { DirectoryView } from "../../shared/directory/view.ts";
import type { AccountMsg, AccountReply, Plan } from "../../shared/model/account/protocol.ts";
import {
  ACCOUNT_ALERTS_TOPIC,
  ACCOUNT_EVENTS_TOPIC,
  DOMAIN_VERIFY_TOPIC,
} from "../../shared/model/account/topics.ts";
import { waitFor } from "../helpers/wait.ts";

export const PARTITIONS = 4;
export const HMAC_KEY = new Uint8Array(32).fill(7);
export const PLANS: Plan[] = [
  { name: "free", monthlyRecipients: 100, priceCents: 0, currency: "USD" },
  { name: "starter", monthlyRecipients: 1_000, priceCents: 1_500, currency: "USD" },
  { name: "pro", monthlyRecipients: 10_000, priceCents: 5_000, currency: "USD" },
];
export const plan = (name: string) => PLANS.find((p) => p.name === name) as Plan;

export interface Emitted {
  topic: string;
  key: string;
  value: Record<string, unknown>;
}

export interface Node {
  dir: string;
  bus: LogBus;
  clock: ManualClock;
  system: ActorSystem;
  directory: DirectoryView;
  service: AccountService;
  emitted: Emitted[];
  /** Asks the actor and unwraps its AccountReply (throws on `ok: false`). */
  ask<T = unknown>(accountId: string, msg: AccountMsg): Promise<T>;
  /** The raw AccountReply. */
  raw<T = unknown>(accountId: string, msg: AccountMsg): Promise<AccountReply<T>>;
  stop(): Promise<void>;
}

export function tempDir(cleanups: (() => Promise<void>)[]): string {
  const d = mkdtempSync(join(tmpdir(), "petrel-account-"));
  cleanups.push(async () => rmSync(d, { recursive: true, force: true }));
  return d;
}

export async function startNode(
  dir: string,
  opts: {
    clock?: ManualClock;
    localAsk?: boolean;
    retentionDays?: number;
    reverifyHours?: number;
    /** More behaviors on this node (the ingress harness adds the domain actors). */
    behaviors?: AnyBehavior[];
  } = {},
): Promise<Node> {
  const clock = opts.clock ?? new ManualClock(Date.UTC(2026, 0, 15, 12));
  const bus = await LogBus.open({ dir, maintenanceIntervalMs: 0 });
  const system = new ActorSystem({
    bus,
    nodeId: "local",
    clock,
    partitions: PARTITIONS,
    localAsk: opts.localAsk ?? true,
  });
  system.register(createSuppressionBehavior());
  // Client IPs (S3, S4): the ingress harness runs on this node.
  system.register(createClientBehavior());
  system.register(
    createAccountBehavior({
      partitions: PARTITIONS,
      retentionDays: opts.retentionDays ?? 30,
      reverifyHours: opts.reverifyHours ?? 24,
    }),
  );
  for (const b of opts.behaviors ?? []) system.register(b);
  await system.start();
  await waitFor(() => system.ownedPartitions("account").length === PARTITIONS, {
    what: "all account partitions",
  });
  const directory = await DirectoryView.open({ bus, nodeId: "local" });
  const emitted: Emitted[] = [];
  const subs: Subscription[] = [];
  for (const topic of [ACCOUNT_ALERTS_TOPIC, ACCOUNT_EVENTS_TOPIC, DOMAIN_VERIFY_TOPIC]) {
    subs.push(
      await bus.subscribe({
        group: `test-collector-${topic}`,
        topics: [topic],
        fromBeginning: false,
        handler: async (r: BusRecord) => {
          emitted.push({ topic, key: r.key, value: JSON.parse(new TextDecoder().decode(r.value)) });
        },
      }),
    );
  }
  const service = new AccountService({ actors: system, plans: PLANS, hmacKey: HMAC_KEY, directory, clock });
  const raw = <T>(accountId: string, msg: AccountMsg) =>
    system.ask<AccountReply<T>>(accountKey(accountId), msg);
  return {
    dir,
    bus,
    clock,
    system,
    directory,
    service,
    emitted,
    raw,
    async ask<T>(accountId: string, msg: AccountMsg): Promise<T> {
      const r = await raw<T>(accountId, msg);
      if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
      return r.value;
    },
    async stop() {
      for (const s of subs) await s.close();
      await directory.close();
      await system.stop();
      await bus.close();
    },
  };
}

/** Events of one type the actor emitted, once at least `n` arrived (bounded wait). */
export function eventsOf(node: Node, type: string, n = 1): Promise<Emitted[]> {
  return waitFor(
    () => {
      const list = node.emitted.filter((e) => e.value.type === type);
      return list.length >= n ? list : undefined;
    },
    { what: `${n} ${type} event(s)` },
  );
}
