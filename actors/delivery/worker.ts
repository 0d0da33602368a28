/**
 * Delivery workers (D1, D2): read the domain actors' attempt requests from
 * `delivery.attempts`, do the I/O (or simulate it for sandbox recipients, S14) and tell the
 * domain actor the outcome. A handler returns as soon as the attempt is started, so one
 * partition's domains are worked on concurrently; `maxInFlight` bounds the node's attempts, and
 * `maxHeldBytes` the message bytes they hold (held-bytes.ts).
 * An attempt lost with this process is not lost for the recipient: its slot lease expires in
 * the domain actor, which queues it again.
 */
import type { Resolver } from "node:dns/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { VerpKey } from "../../shared/bounce/verp.ts";
import type { Bus, Subscription } from "../../shared/bus/types.ts";
import type { ContentStore } from "../../shared/content/store.ts";
import type { Logger } from "../../shared/log.ts";
import type { DeliveryRecorder } from "../../shared/metrics.ts";
import type { SendingDomain } from "../../shared/model/account/protocol.ts";
import {
  type AttemptRequest,
  DELIVERY_ATTEMPTS_TOPIC,
  type DomainMsg,
  decodeAttemptRequest,
  type Outcome,
} from "../domain/protocol.ts";
import { InboxProgress, WatermarkCommitter } from "../inbox.ts";
import { domainKey } from "../keys.ts";
import type { ActorSystem } from "../system.ts";
import { type AttemptDeps, attemptAll } from "./attempt.ts";
import { type DkimSignFn, SignatureCache } from "./dkim.ts";
import { HeldBytes } from "./held-bytes.ts";
import { addressesOf, MxResolver } from "./mx.ts";
import { ConnectionPool, type PoolOptions } from "./pool.ts";
import { simulate } from "./sandbox.ts";

export interface WorkerOptions {
  bus: Bus;
  actors: ActorSystem;
  resolver: Pick<Resolver, "resolveMx" | "resolve4" | "resolve6">;
  content: ContentStore;
  /** Undefined when the domain does not exist; a throw (actor unavailable) defers the attempt. */
  sendingDomain(accountId: string, domain: string): Promise<SendingDomain | undefined>;
  /** DKIM signing (D3); false only where DKIM off is measured (benchmarks). Default true. */
  sign?: boolean;
  /** Where DKIM signatures are made (a DkimPool's `sign`); default: this thread. */
  signer?: DkimSignFn;
  /** Reuse a message's DKIM signature for its other transactions (on with batched delivery). */
  reuseSignatures?: boolean;
  verpKey: VerpKey | readonly VerpKey[];
  port: number;
  pool: PoolOptions;
  maxInFlight?: number;
  /**
   * Message bytes (the records' `size`) that attempts in flight may hold at once, a quarter of it
   * per recipient domain (held-bytes.ts); an attempt that would go past it waits before it reads
   * its message. Default 256 MiB.
   */
  maxHeldBytes?: number;
  now?: () => number;
  log?: Logger;
  /** X4: each attempt's outcome and DKIM failure (shared/metrics.ts). */
  metrics?: DeliveryRecorder;
}

/** Default bound of the message bytes held by a node's attempts in flight. */
export const DEFAULT_MAX_HELD_BYTES = 256 * 1024 * 1024;

/** How long a revoked partition's attempts in flight are waited for before letting it go. */
const REVOKE_WAIT_MS = 20_000;

export class DeliveryWorkers {
  private sub?: Subscription;
  private readonly inflight = new Set<Promise<void>>();
  private readonly pool: ConnectionPool;
  private readonly mx: MxResolver;
  private readonly addrCache = new Map<string, { ips: string[]; until: number }>();
  private readonly signatures?: SignatureCache;
  private readonly held: HeldBytes;

  constructor(private readonly o: WorkerOptions) {
    this.pool = new ConnectionPool(o.pool);
    this.mx = new MxResolver(o.resolver, o.now);
    this.held = new HeldBytes(o.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES);
    if (o.reuseSignatures) this.signatures = new SignatureCache();
  }

  async start(): Promise<void> {
    // An attempt's record is committed only once the attempt has finished (a watermark per
    // partition, as the actor inbox does): a node that dies mid-attempt leaves its attempts to be
    // run again by the partition's next owner, instead of waiting for the slot lease to expire.
    const progress = new Map<number, InboxProgress>();
    const running = new Map<number, Set<Promise<void>>>();
    const committer = new WatermarkCommitter(
      (tp, offset) => this.sub?.commit(tp, offset) ?? Promise.resolve(),
      (e) => this.o.log?.error({ err: e }, "delivery worker commit failed"),
    );
    this.sub = await this.o.bus.subscribe({
      group: "delivery.workers",
      topics: [DELIVERY_ATTEMPTS_TOPIC],
      fromBeginning: true,
      autoCommit: false,
      handler: async (r) => {
        const req = decodeAttemptRequest(r.value);
        while (this.inflight.size >= (this.o.maxInFlight ?? 200)) await Promise.race(this.inflight);
        const prog = progress.get(r.partition) ?? new InboxProgress(Number.MAX_SAFE_INTEGER);
        progress.set(r.partition, prog);
        const part = running.get(r.partition) ?? new Set<Promise<void>>();
        running.set(r.partition, part);
        const tracker = prog;
        tracker.add(r.offset);
        const p = this.run(req).finally(() => {
          this.inflight.delete(p);
          part.delete(p);
          const next = tracker.complete(r.offset);
          if (next !== undefined) committer.note({ topic: r.topic, partition: r.partition }, next);
        });
        this.inflight.add(p);
        part.add(p);
      },
      // A partition handed to another node: its attempts in flight here finish (bounded) and are
      // committed first, so the next owner does not run them a second time.
      onRevoke: async (tps) => {
        const pending = tps.flatMap((tp) => [...(running.get(tp.partition) ?? [])]);
        await Promise.race([Promise.allSettled(pending), sleep(REVOKE_WAIT_MS)]);
        await committer.flush();
        for (const tp of tps) {
          progress.delete(tp.partition);
          running.delete(tp.partition);
        }
      },
      onError: (e) => this.o.log?.error({ err: e }, "delivery worker subscription error"),
    });
  }

  private async run(req: AttemptRequest): Promise<void> {
    const key = domainKey(req.domain);
    try {
      if (req.record.isTest) {
        const { outcome, later } = simulate(req);
        this.o.metrics?.attempt(req.domain, req.attempt, outcome.result, outcome.reason);
        await this.tell(key, { t: "outcome", outcome });
        if (later) await this.tell(key, { t: "bounce", bounce: later });
        return;
      }
      const deps: AttemptDeps = {
        mx: this.mx,
        addresses: (h) => this.addresses(h),
        pool: this.pool,
        content: this.o.content,
        sendingDomain: this.o.sendingDomain,
        verpKey: this.o.verpKey,
        port: this.o.port,
        now: this.o.now ?? Date.now,
        ...(this.o.sign === false ? { sign: false } : {}),
        ...(this.o.signer ? { signer: this.o.signer } : {}),
        ...(this.o.metrics ? { onDkimFailure: this.o.metrics.dkimFailure } : {}),
        ...(this.signatures ? { signatures: this.signatures } : {}),
      };
      // The message is read whole, signed and sent: its bytes are held for that long.
      const bytes = req.record.size;
      await this.held.acquire(req.domain, bytes);
      let outcomes: Outcome[];
      try {
        outcomes = await attemptAll(req, deps);
      } finally {
        this.held.release(req.domain, bytes);
      }
      this.o.metrics?.transaction(req.domain);
      for (const outcome of outcomes) {
        this.o.metrics?.attempt(req.domain, req.attempt, outcome.result, outcome.reason);
        this.o.log?.debug({ recipientId: outcome.recipientId, result: outcome.result }, "delivery attempt");
      }
      // One transaction, one message to the domain actor: its recipients settle in one turn.
      await this.tell(
        key,
        outcomes.length === 1
          ? { t: "outcome", outcome: outcomes[0] as Outcome }
          : { t: "outcomes", outcomes },
      );
    } catch (e) {
      // An internal failure (content unreadable): the lease will expire and the
      // actor retries; no reply code is invented for it.
      this.o.log?.error(
        { err: e, recipientId: req.record.recipientId },
        "delivery attempt failed internally",
      );
    }
  }

  /** Message bytes held by the attempts in flight now, and the most ever held (the tests read it). */
  get heldBytes(): { now: number; peak: number } {
    return this.held.stats;
  }

  private tell(key: string, msg: DomainMsg): Promise<void> {
    return this.o.actors.tell(key, msg);
  }

  private async addresses(host: string): Promise<string[]> {
    const now = (this.o.now ?? Date.now)();
    const hit = this.addrCache.get(host);
    if (hit && hit.until > now) return hit.ips;
    const { ips, ttlMs: ttl } = await addressesOf(this.o.resolver, host);
    this.addrCache.set(host, { ips, until: now + ttl });
    return ips;
  }

  async stop(): Promise<void> {
    // Closing revokes every partition: onRevoke waits for their attempts and commits them.
    await this.sub?.close();
    await Promise.allSettled([...this.inflight]);
    await this.pool.close();
  }
}

export type { Outcome };
