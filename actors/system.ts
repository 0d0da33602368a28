/**
 * The actor system of one node: registers behaviors, hosts their actors for the partitions the
 * consumer groups give this node, and routes tells, asks and replies over the bus.
 *
 * Topics per actor type T: `actor.T.inbox` (messages, keyed by actor key) and `actor.T.state`
 * (compacted changelog of snapshots). A node that hosts T joins group `actor.T`; Kafka's group
 * assignment (or the embedded log's) decides which node runs which key. Replies travel on
 * `actor.replies.<node>`, or in memory when asker and actor share the node.
 */
import { randomUUID } from "node:crypto";
import type { Bus, BusRecord, OutRecord, Subscription } from "../shared/bus/types.ts";
import type { AnyBehavior } from "./behavior.ts";
import type { Clock } from "./clock.ts";
import { decodeJson, encodeJson, type InboxEnvelope, type ReplyEnvelope } from "./envelope.ts";
import { ActorError, ActorSystemStoppedError, AskTimeoutError } from "./errors.ts";
import { ActorHost } from "./host.ts";
import { WatermarkCommitter } from "./inbox.ts";
import { parseActorKey } from "./keys.ts";
import { hostGroup, inboxTopic, repliesTopic, stateTopic } from "./topics.ts";
import type { Effects } from "./transition.ts";

export interface ActorSystemOptions {
  bus: Bus;
  nodeId: string;
  clock: Clock;
  /** Partitions of every actor topic; must be the same on every node. */
  partitions: number;
  /**
   * Single-node mode (the embedded default): an ask to an actor this node holds goes straight to
   * its mailbox instead of through the inbox topic. The state change is still persisted before
   * the answer. Never set it when several nodes share the bus.
   */
  localAsk?: boolean;
  defaultAskTimeoutMs?: number;
  onError?(error: unknown, context: string): void;
}

interface Pending {
  key: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<Clock["schedule"]>;
}

export class ActorSystem {
  private readonly hosts = new Map<string, ActorHost>();
  private readonly subs: Subscription[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly ensured = new Set<string>();
  private started = false;
  private stopped = false;

  constructor(private readonly o: ActorSystemOptions) {}

  get nodeId(): string {
    return this.o.nodeId;
  }

  register(behavior: AnyBehavior): this {
    if (this.started) throw new Error("register behaviors before start()");
    if (this.hosts.has(behavior.type)) throw new Error(`actor type ${behavior.type} registered twice`);
    const host = new ActorHost(behavior, {
      bus: this.o.bus,
      clock: this.o.clock,
      partitions: this.o.partitions,
      dispatch: (effects, from) => this.dispatch(effects, from),
      onError: (e, key) => this.report(e, key),
    });
    this.hosts.set(behavior.type, host);
    return this;
  }

  async start(): Promise<void> {
    this.started = true;
    const replies = repliesTopic(this.o.nodeId);
    await this.o.bus.ensureTopics([{ name: replies, partitions: 1 }]);
    const replySub = await this.o.bus.subscribe({
      group: `actor.replies.${this.o.nodeId}`,
      topics: [replies],
      fromBeginning: false,
      handler: async (r) => this.onReply(decodeJson<ReplyEnvelope>(r.value)),
      onError: (e) => this.report(e, replies),
    });
    this.subs.push(replySub);
    for (const [type, host] of this.hosts) {
      await this.ensureType(type);
      if (host.behavior.outputs?.length) await this.o.bus.ensureTopics(host.behavior.outputs);
      // Offsets are committed by the host once a record's turn is durable (actors/inbox.ts).
      let subscribed!: (s: Subscription) => void;
      const subscription = new Promise<Subscription>((resolve) => {
        subscribed = resolve;
      });
      host.useCommitter(
        new WatermarkCommitter(
          async (tp, offset) => (await subscription).commit(tp, offset),
          (e) => this.report(e, inboxTopic(type)),
        ),
      );
      const sub = await this.o.bus.subscribe({
        group: hostGroup(type),
        topics: [inboxTopic(type)],
        fromBeginning: true,
        autoCommit: false,
        handler: (r: BusRecord) => host.handleRecord(r),
        onAssign: (tps) => host.assign(tps),
        onRevoke: (tps) => host.revoke(tps),
        onRebalanceStart: () => host.fence(),
        onRebalanceEnd: () => host.unfence(),
        onError: (e, r) => this.report(e, r ? `${r.topic}/${r.partition}@${r.offset}` : inboxTopic(type)),
      });
      subscribed(sub);
      this.subs.push(sub);
    }
  }

  /** Fire and forget, durably: resolves once the message is on the bus. */
  async tell(key: string, msg: unknown): Promise<void> {
    this.assertRunning();
    const type = parseActorKey(key).type;
    await this.ensureType(type);
    await this.o.bus.publish(inboxTopic(type), [
      { key, value: encodeJson({ m: msg } satisfies InboxEnvelope) },
    ]);
  }

  /**
   * Several tells in one durable publish per actor type: resolves once all are on the bus (ingress
   * hands every recipient of a message to its domain actor this way before answering 250).
   */
  async tellAll(messages: { key: string; msg: unknown }[]): Promise<void> {
    this.assertRunning();
    const byType = new Map<string, OutRecord[]>();
    for (const { key, msg } of messages) {
      const type = parseActorKey(key).type;
      const list = byType.get(type) ?? [];
      list.push({ key, value: encodeJson({ m: msg } satisfies InboxEnvelope) });
      byType.set(type, list);
    }
    await Promise.all(
      [...byType].map(async ([type, records]) => {
        await this.ensureType(type);
        await this.o.bus.publish(inboxTopic(type), records);
      }),
    );
  }

  /** Request/reply: resolves with the actor's `ctx.reply(...)`, rejects on timeout or failure. */
  ask<R = unknown>(key: string, msg: unknown, timeoutMs = this.o.defaultAskTimeoutMs ?? 10_000): Promise<R> {
    this.assertRunning();
    const id = randomUUID();
    const address = { node: this.o.nodeId, id };
    const answer = new Promise<R>((resolve, reject) => {
      const timer = this.o.clock.schedule(this.o.clock.now() + timeoutMs, () => {
        if (this.pending.delete(id)) reject(new AskTimeoutError(key, timeoutMs));
      });
      this.pending.set(id, { key, resolve: resolve as (v: unknown) => void, reject, timer });
    });
    const type = parseActorKey(key).type;
    const host = this.hosts.get(type);
    const sent =
      this.o.localAsk && host?.owns(key)
        ? host.deliverLocal(key, msg, address)
        : this.ensureType(type).then(() =>
            this.o.bus.publish(inboxTopic(type), [
              { key, value: encodeJson({ m: msg, ask: address } satisfies InboxEnvelope) },
            ]),
          );
    sent.catch((e) => this.fail(id, e instanceof Error ? e : new Error(String(e))));
    return answer;
  }

  /** Is the actor of `key` activated on this node right now? */
  isLive(key: string): boolean {
    return this.hosts.get(parseActorKey(key).type)?.isLive(key) ?? false;
  }

  /** The states of the live actors of `type` on this node, read-only (metrics at scrape time). */
  liveStates(type: string): Iterable<unknown> {
    return this.hosts.get(type)?.liveStates() ?? [];
  }

  /** Partitions of actor type `type` this node holds. */
  ownedPartitions(type: string): number[] {
    return this.hosts.get(type)?.ownedPartitions() ?? [];
  }

  /** Stops taking work, lets running transitions finish, leaves the groups. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const host of this.hosts.values()) await host.drain();
    for (const sub of this.subs.splice(0).reverse()) await sub.close();
    for (const host of this.hosts.values()) host.stop();
    for (const [id, p] of this.pending) {
      this.o.clock.cancel(p.timer);
      p.reject(new ActorSystemStoppedError());
      this.pending.delete(id);
    }
  }

  private async ensureType(type: string): Promise<void> {
    if (this.ensured.has(type)) return;
    await this.o.bus.ensureTopics([
      { name: inboxTopic(type), partitions: this.o.partitions },
      { name: stateTopic(type), partitions: this.o.partitions, compacted: true },
    ]);
    this.ensured.add(type);
  }

  private async dispatch(effects: Effects, from: string): Promise<void> {
    const byTopic = new Map<string, OutRecord[]>();
    const add = (topic: string, rec: OutRecord) => {
      const list = byTopic.get(topic);
      if (list) list.push(rec);
      else byTopic.set(topic, [rec]);
    };
    for (const s of effects.sends) {
      const type = parseActorKey(s.key).type;
      await this.ensureType(type);
      add(inboxTopic(type), { key: s.key, value: encodeJson({ m: s.msg } satisfies InboxEnvelope) });
    }
    for (const e of effects.emits)
      add(e.topic, { key: e.key, value: e.value, ...(e.headers ? { headers: e.headers } : {}) });
    await Promise.all([...byTopic].map(([topic, recs]) => this.o.bus.publish(topic, recs)));
    const reply = effects.reply;
    if (!reply) return;
    const env: ReplyEnvelope = {
      id: reply.to.id,
      ok: reply.ok,
      value: reply.value,
      ...(reply.error ? { error: reply.error } : {}),
    };
    if (reply.to.node === this.o.nodeId) this.onReply(env, from);
    else await this.o.bus.publish(repliesTopic(reply.to.node), [{ key: from, value: encodeJson(env) }]);
  }

  private onReply(env: ReplyEnvelope, from?: string): void {
    const p = this.pending.get(env.id);
    if (!p) return; // timed out already, or a duplicate after a redelivery
    this.pending.delete(env.id);
    this.o.clock.cancel(p.timer);
    if (env.ok) p.resolve(env.value);
    else p.reject(new ActorError(from ?? p.key, env.error ?? "failed"));
  }

  private fail(id: string, error: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.o.clock.cancel(p.timer);
    p.reject(error);
  }

  private assertRunning(): void {
    if (this.stopped) throw new ActorSystemStoppedError();
  }

  private report(e: unknown, context: string): void {
    if (this.o.onError) this.o.onError(e, context);
    else console.error(`actor system ${this.o.nodeId}: ${context}:`, e);
  }
}
