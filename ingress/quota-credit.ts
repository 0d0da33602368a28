/**
 * S8 as credit, the node's side (issue 16): recipients are reserved from a block of quota this
 * node holds as credit from the account actor (actors/account/credit.ts), by a local decrement —
 * no actor round trip and no durable turn per recipient. One grant is asked per block and
 * account at a time; it hands back the previous block's unused part in the same turn. A block is
 * used only while its lease is valid on this node's clock (measured from the ask, so it ends
 * before the actor's), and only while the directory says the account may send (C2: a suspension
 * stops local grants at once). Unused credit goes back when the account has been idle for
 * `idleMs`, before the lease ends, and at close.
 *
 * Near the end of a period the actor grants exactly what is needed (no block): reservations are
 * then one ask each, as without credit.
 */
import type { CreditGrant, QuotaRefusal } from "../shared/model/account/protocol.ts";

export interface Reservation {
  granted: number;
  /** The period the grant counts in (a release after a rollover changes nothing). */
  periodStart: number;
  reason?: QuotaRefusal;
}

/** What the pool asks of the account actor. */
export interface CreditActor {
  grant(
    accountId: string,
    msg: { leaseId: string; need: number; block: number; ttlMs: number; settle?: Settle },
  ): Promise<CreditGrant>;
  settle(accountId: string, s: Settle): Promise<void>;
  release(accountId: string, n: number, periodStart?: number): Promise<void>;
}

interface Settle {
  leaseId: string;
  unused: number;
}

interface Block {
  leaseId: string;
  left: number;
  periodStart: number;
  /** Local time after which the block is not used (handed back before). */
  until: number;
  lastUse: number;
}

export interface QuotaCreditOptions {
  actor: CreditActor;
  nodeId: string;
  /** Recipients per block; 0 turns credit off (every reservation is an ask). */
  block: number;
  ttlMs: number;
  /** Hand back a block unused for this long. */
  idleMs?: number;
  now(): number;
  mayUse?(accountId: string): boolean;
  onError?(error: unknown): void;
}

/** Bounded: the asks one reservation may make before it takes an exact grant. */
const ATTEMPTS = 3;

export class QuotaCredit {
  private readonly blocks = new Map<string, Block>();
  private readonly asking = new Map<string, Promise<unknown>>();
  private seq = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly idleMs: number;

  constructor(private readonly o: QuotaCreditOptions) {
    this.idleMs = o.idleMs ?? 2_000;
  }

  async reserve(accountId: string, n: number): Promise<Reservation> {
    for (let i = 0; i < ATTEMPTS; i++) {
      const local = this.take(accountId, n);
      if (local) return local;
      const pending = this.asking.get(accountId);
      if (pending) {
        await pending.catch(() => undefined);
        continue;
      }
      const ask = this.refill(accountId, n);
      this.asking.set(accountId, ask);
      try {
        return await ask;
      } finally {
        this.asking.delete(accountId);
      }
    }
    return this.exact(accountId, n);
  }

  /** Gives `n` back: to the block it can still be used from, else to the actor. */
  async release(accountId: string, n: number, periodStart?: number): Promise<void> {
    const b = this.blocks.get(accountId);
    if (b && b.periodStart === periodStart && this.o.now() < b.until) {
      b.left += n;
      return;
    }
    await this.o.actor.release(accountId, n, periodStart);
  }

  /** Hands every block's unused part back (close; tests read exact counters after it). */
  async flush(): Promise<void> {
    await Promise.all([...this.asking.values()].map((p) => p.catch(() => undefined)));
    await Promise.all([...this.blocks.keys()].map((a) => this.handBack(a)));
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.flush();
  }

  private take(accountId: string, n: number): Reservation | undefined {
    const b = this.blocks.get(accountId);
    if (!b) return undefined;
    const now = this.o.now();
    if (now >= b.until || !(this.o.mayUse?.(accountId) ?? true)) {
      this.handBack(accountId).catch((e) => this.o.onError?.(e));
      return undefined;
    }
    if (b.left < n) return undefined;
    b.left -= n;
    b.lastUse = now;
    return { granted: n, periodStart: b.periodStart };
  }

  /** One ask: `n` now and, while plenty is left, a block for what follows. */
  private async refill(accountId: string, n: number): Promise<Reservation> {
    if (this.o.block <= 0) return this.exact(accountId, n);
    const old = this.blocks.get(accountId);
    this.blocks.delete(accountId);
    const sentAt = this.o.now();
    const g = await this.o.actor.grant(accountId, {
      leaseId: `${this.o.nodeId}.${++this.seq}.${sentAt}`,
      need: n,
      block: this.o.block,
      ttlMs: this.o.ttlMs,
      ...(old ? { settle: { leaseId: old.leaseId, unused: old.left } } : {}),
    });
    if (g.leaseId && g.granted > n) {
      // Stop a second before the lease: what is handed back then is still the actor's to take.
      const until = sentAt + (g.validMs ?? this.o.ttlMs) - Math.min(1_000, this.idleMs);
      this.blocks.set(accountId, {
        leaseId: g.leaseId,
        left: g.granted - n,
        periodStart: g.periodStart,
        until,
        lastUse: sentAt,
      });
      this.sweep();
      return { granted: n, periodStart: g.periodStart };
    }
    return { granted: g.granted, periodStart: g.periodStart, ...(g.reason ? { reason: g.reason } : {}) };
  }

  private async exact(accountId: string, n: number): Promise<Reservation> {
    const g = await this.o.actor.grant(accountId, {
      leaseId: `${this.o.nodeId}.${++this.seq}.${this.o.now()}`,
      need: n,
      block: 0,
      ttlMs: this.o.ttlMs,
    });
    return { granted: g.granted, periodStart: g.periodStart, ...(g.reason ? { reason: g.reason } : {}) };
  }

  private async handBack(accountId: string): Promise<void> {
    const b = this.blocks.get(accountId);
    if (!b) return;
    this.blocks.delete(accountId);
    await this.o.actor.settle(accountId, { leaseId: b.leaseId, unused: b.left });
  }

  /** While blocks are held: hand back those idle for `idleMs` or near their end. */
  private sweep(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(
      () => {
        const now = this.o.now();
        for (const [a, b] of this.blocks) {
          if (now - b.lastUse >= this.idleMs || now >= b.until - this.idleMs)
            this.handBack(a).catch((e) => this.o.onError?.(e));
        }
        if (this.blocks.size === 0 && this.sweeper) {
          clearInterval(this.sweeper);
          this.sweeper = undefined;
        }
      },
      Math.max(100, Math.floor(this.idleMs / 2)),
    );
    this.sweeper.unref?.();
  }
}
