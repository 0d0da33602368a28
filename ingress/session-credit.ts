/**
 * S4 session slots as credit, the node's side (issue 16): per account and SMTP user this node
 * holds one block of session slots — a lease of the account actor weighing `granted` slots
 * (actors/account/sessions.ts `sessionCredit`) — and opens and closes sessions against it by a
 * local count, with no actor turn per connection. The actor asks are per block:
 *
 * - acquire beyond the block: one ask at a time per block, for the sessions open plus every
 *   acquirer waiting (concurrent AUTHs share it); waiters are granted in order up to what came
 *   back, the rest refused with the limit that refused. Refused by the account limit while other
 *   blocks of the account on this node have spare slots, those are handed back and the ask made
 *   once more, so one node alone refuses exactly as it did with a lease per session.
 * - release: a local decrement. A spare slot goes back when unused for `idleMs` (the sweeper);
 *   with `idleMs` 0 at once (an ask per close, the behaviour before credit).
 * - renew: one ask per block every third of the lease with its weight (extends the lease); a
 *   block is used locally only while its lease is valid on this node's clock (measured from the
 *   ask). A node that dies frees its blocks within one lease, as before.
 * - close: every block back with 0 slots.
 *
 * A block's lease id is `<nodeId>.slots.<username>` (node ids are unique in a cluster): a node
 * restarted under the same id takes its block over at its first ask, its dead sessions gone.
 *
 * The trade-off: a closed session's slot stays with its node for up to `idleMs`, so another node
 * may find the account's limit reached for that long. The limits never overshoot across nodes:
 * the actor counts every block's weight.
 */
import type { SessionCreditGrant } from "../shared/model/account/protocol.ts";
import {
  answered,
  emptyBlock,
  giveBack,
  type SlotBlock,
  settled,
  sweepEvery,
  take,
  unanswered,
  upkeep,
} from "./slot-block.ts";

/** What the credit asks of the account actor (ingress/account-port.ts). */
export interface SessionCreditActor {
  credit(
    accountId: string,
    msg: { leaseId: string; username: string; slots: number },
  ): Promise<SessionCreditGrant>;
}

export type SlotGrant = { granted: true } | { granted: false; refusedBy: "user" | "account" };

export interface SessionCreditOptions {
  actor: SessionCreditActor;
  nodeId: string;
  ttlMs: number;
  /** Hand a spare slot back after this long unused; 0 = at once. */
  idleMs: number;
  now(): number;
  onError?(error: unknown): void;
}

interface Waiter {
  resolve(g: SlotGrant): void;
  reject(e: unknown): void;
}

/** A block of one SMTP user's session slots (slot-block.ts). */
interface Block extends SlotBlock {
  accountId: string;
  username: string;
  leaseId: string;
  waiters: Waiter[];
  /** The ask loop while one runs (at most one per block). */
  asking?: Promise<unknown>;
  /** Hand the spare slots back at the next ask, idle or not (another block of the account needs them). */
  shrink: boolean;
}

export class SessionCredit {
  private readonly blocks = new Map<string, Block>();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closing = false;

  constructor(private readonly o: SessionCreditOptions) {}

  /** A session slot for `username`: from the block when it has one spare, else by one ask. */
  acquire(accountId: string, username: string): Promise<SlotGrant> {
    if (this.closing) return Promise.reject(new Error("session credit closed"));
    const b = this.block(accountId, username);
    const now = this.o.now();
    if (b.waiters.length === 0 && take(b, now)) return Promise.resolve({ granted: true });
    return new Promise<SlotGrant>((resolve, reject) => {
      b.waiters.push({ resolve, reject });
      this.kick(b);
    });
  }

  /** Gives a slot back to the block (an ask only with `idleMs` 0). */
  release(accountId: string, username: string): void {
    const b = this.blocks.get(key(accountId, username));
    if (!b || !giveBack(b, this.o.now())) return;
    this.serve(b);
    if (this.o.idleMs === 0) this.kick(b);
  }

  /** Sessions open from this node's block of `username` (tests, metrics). */
  inUse(accountId: string, username: string): number {
    return this.blocks.get(key(accountId, username))?.inUse ?? 0;
  }

  /** The slots this node's block of `username` weighs at the actor, as last granted. */
  granted(accountId: string, username: string): number {
    return this.blocks.get(key(accountId, username))?.granted ?? 0;
  }

  /** One pass of the sweeper: hands idle spare slots back and renews blocks due (tests call it). */
  async sweep(): Promise<void> {
    for (const b of this.blocks.values()) this.kick(b);
    await settled(() => this.blocks.values());
  }

  /** Hands every block back (0 slots); acquires from now on are refused as by the account. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.sweep();
  }

  private block(accountId: string, username: string): Block {
    const k = key(accountId, username);
    let b = this.blocks.get(k);
    if (!b) {
      b = {
        ...emptyBlock(this.o.now()),
        accountId,
        username,
        leaseId: `${this.o.nodeId}.slots.${username}`,
        waiters: [],
        shrink: false,
      };
      this.blocks.set(k, b);
      this.startSweeper();
    }
    return b;
  }

  /** The weight to ask for now, or undefined when the block needs no ask. */
  private want(b: Block): number | undefined {
    if (this.closing) return b.granted > 0 ? 0 : undefined;
    if (b.waiters.length > 0) return b.inUse + b.waiters.length;
    return upkeep(b, this.o.now(), this.o, { shrink: b.shrink });
  }

  /** Starts the block's ask loop when it needs one and none runs (it looks again after each answer). */
  private kick(b: Block): void {
    if (b.asking || this.want(b) === undefined) return;
    b.asking = this.run(b).then((clean) => {
      b.asking = undefined;
      // What came after the loop's last look (after a failure, only new acquirers ask again).
      if (clean ? this.want(b) !== undefined : b.waiters.length > 0) this.kick(b);
      else this.forget(b);
    });
  }

  /** Asks while the block needs it; false when an ask failed. */
  private async run(b: Block): Promise<boolean> {
    let reclaimed = false;
    for (let want = this.want(b); want !== undefined; want = this.want(b)) {
      const sentAt = this.o.now();
      let r: SessionCreditGrant;
      b.target = want;
      try {
        r = await this.o.actor.credit(b.accountId, { leaseId: b.leaseId, username: b.username, slots: want });
      } catch (e) {
        unanswered(b, want);
        // The waiters get 451 (session.ts); a failed renew or hand-back is tried again by the sweeper.
        const waiters = b.waiters.splice(0);
        for (const w of waiters) w.reject(e);
        if (waiters.length === 0) this.o.onError?.(e);
        return false;
      }
      answered(b, r.slots, sentAt, this.o.ttlMs);
      b.shrink = false;
      if (this.closing) {
        for (const w of b.waiters.splice(0)) w.reject(new Error("session credit closed"));
        continue;
      }
      this.serve(b, true);
      if (!r.refusedBy || b.waiters.length === 0) continue;
      if (r.refusedBy === "account" && !reclaimed && (await this.reclaim(b))) {
        reclaimed = true;
        continue;
      }
      // The limit is reached now: refused too are those who came during the ask.
      for (const w of b.waiters.splice(0)) w.resolve({ granted: false, refusedBy: r.refusedBy });
    }
    return true;
  }

  /** Grants waiters in order while the block has spare slots (and its lease is valid, unless `fresh`). */
  private serve(b: Block, fresh = false): void {
    while (b.waiters.length > 0 && take(b, this.o.now(), fresh))
      b.waiters.shift()?.resolve({ granted: true });
  }

  /**
   * Hands back the spare slots of this account's other blocks on this node (whose asks do not
   * wait on any other block: a block with waiters has none spare and is skipped). True if any.
   */
  private async reclaim(asking: Block): Promise<boolean> {
    const spare = [...this.blocks.values()].filter(
      (b) =>
        b !== asking && b.accountId === asking.accountId && b.waiters.length === 0 && b.granted > b.inUse,
    );
    for (const b of spare) {
      b.shrink = true;
      this.kick(b);
    }
    await Promise.all(spare.map((b) => b.asking));
    return spare.length > 0;
  }

  private forget(b: Block): void {
    if (b.granted === 0 && b.inUse === 0 && b.waiters.length === 0 && !b.asking)
      this.blocks.delete(key(b.accountId, b.username));
    if (this.blocks.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private startSweeper(): void {
    if (this.sweeper || this.closing) return;
    this.sweeper = setInterval(() => {
      for (const b of this.blocks.values()) this.kick(b);
    }, sweepEvery(this.o));
    this.sweeper.unref?.();
  }
}

function key(accountId: string, username: string): string {
  return `${accountId}\u0000${username}`;
}
