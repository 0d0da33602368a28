/**
 * This node's side of the client IP actors (S3, S4 per IP; actors/client/behavior.ts), kept cheap
 * for clients that connect per message. Per IP this node holds one block of connection slots — a
 * lease of the IP's actor weighing `granted` slots (`slots`, lease id `<nodeId>.ip`, so a node
 * restarted under the same id takes its block over) — with what the last answer said of the IP:
 * its block (S3) and its failed AUTHs in the window.
 *
 * - connect: refused at once (421 4.7.0) while the IP is known to be blocked; admitted from a
 *   spare slot of the block by a local count, no ask. Beyond the block, one ask at a time per IP
 *   for the connections open plus every one waiting (concurrent connects share it); the waiting
 *   are admitted in order up to what came back, the rest refused (421 4.7.0, too many or blocked).
 *   An actor that does not answer gets 451 4.3.0: a node that cannot reach its actors cannot
 *   accept mail, so it refuses for now rather than serve without the limits.
 * - close: a local decrement. A spare slot goes back when unused for `idleMs` (the sweeper); with
 *   `idleMs` 0 at once (an ask per close). Until then another node may find the IP's limit
 *   reached; the limit never overshoots across nodes (the actor counts every block's weight).
 * - renew: one ask per IP every third of the lease with the block's weight; its answer refreshes
 *   the block and the failures. A block is used locally only while its lease is valid on this
 *   node's clock (measured from the ask); a node that dies frees its slots within one lease.
 * - AUTH: no ask on a connection whose IP had no failed AUTH in the window at the last answer and
 *   that has not failed since: the common case costs nothing. A failure is sent without waiting
 *   (535 goes out at once; its verdict says whether the IP is now blocked); the connection's next
 *   AUTH waits for that verdict and asks the actor once more (`blockedNow`, a renew of the block),
 *   so a guessing client meets a block earned on any node at its next attempt.
 * - stop: every block back with 0 slots.
 *
 * The trade-off of S3 with credit: a block earned on another node is learnt by this node at its
 * next ask for the IP (beyond its block, renew, `blockedNow`) or failure report, so until then this
 * node admits the IP's connections from its block, and a blocked IP may get at most one AUTH
 * attempt per node before it is refused (that attempt's failure report brings the block; only
 * connections racing it in parallel each get theirs). A single node learns its own blocks at once.
 * Blocks learnt are remembered until they end. Per-IP limits never overshoot across nodes: the
 * actor counts every block's weight.
 */
import type { ClientSlots, FailureVerdict } from "../actors/client/behavior.ts";
import { normalizeIp } from "../actors/keys.ts";
import type { Logger } from "../shared/log.ts";
import type { ClientPort } from "./client-port.ts";
import { Replies } from "./errors.ts";
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

export interface ClientGateDeps {
  port: ClientPort;
  nodeId: string;
  sessionLeaseMs: number;
  /** Hand a spare slot back after this long unused; 0 = at each close. */
  idleMs: number;
  now(): number;
  log: Logger;
}

export interface Admitted {
  /** S3 failures of the IP in the window at the last answer (a later success has the actor forget them). */
  failures: number;
}

interface Waiter {
  resolve(a: Admitted): void;
  reject(e: unknown): void;
}

/** A `blockedNow` waiting for an ask sent after it came. */
interface Probe {
  resolve(): void;
  reject(e: unknown): void;
}

/** A block of an IP's connection slots (slot-block.ts) with what the actor said of the IP. */
interface IpBlock extends SlotBlock {
  key: string;
  /** S3: failures in the window, as last answered or reported. */
  failures: number;
  waiters: Waiter[];
  probes: Probe[];
  /** The ask loop while one runs (at most one per IP). */
  asking?: Promise<void>;
  /** Renew at the next look, due or not (`renew()`). */
  renewNow: boolean;
}

export class ClientGate {
  private readonly ips = new Map<string, IpBlock>();
  /** Blocks answered to this node: until when (ms), by normalised IP. */
  private readonly blocks = new Map<string, number>();
  private readonly leaseId: string;
  private readonly timing: { ttlMs: number; idleMs: number };
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closing = false;

  constructor(private readonly d: ClientGateDeps) {
    this.leaseId = `${d.nodeId}.ip`;
    this.timing = { ttlMs: d.sessionLeaseMs, idleMs: d.idleMs };
  }

  /** S3, S4: admits a connection from `ip` or rejects with the 421 (blocked, too many) or 451 reply. */
  admit(ip: string): Promise<Admitted> {
    if (this.closing) return Promise.reject(Replies.tempFailure());
    const key = this.keyOf(ip);
    if (this.blocked(key)) return Promise.reject(Replies.ipBlocked());
    const b = this.block(key);
    const now = this.d.now();
    if (b.waiters.length === 0 && take(b, now)) return Promise.resolve({ failures: b.failures });
    return new Promise<Admitted>((resolve, reject) => {
      b.waiters.push({ resolve, reject });
      this.kick(b);
    });
  }

  /** S4: gives a connection's slot back to the block (an ask only with `idleMs` 0). */
  release(ip: string): void {
    const b = this.ips.get(this.keyOf(ip));
    if (!b || !giveBack(b, this.d.now())) return;
    this.serve(b);
    if (this.d.idleMs === 0) this.kick(b);
  }

  /** S3: is `ip` blocked, as far as this node was told? */
  blocked(ip: string): boolean {
    const key = this.keyOf(ip);
    const until = this.blocks.get(key);
    if (until === undefined) return false;
    if (until > this.d.now()) return true;
    this.blocks.delete(key);
    return false;
  }

  /**
   * S3: asks the actor whether `ip` is blocked now (renewing the block on the way); for AUTHs on
   * connections that know of failures from their IP. Throws 451 when it does not answer.
   */
  async blockedNow(ip: string): Promise<boolean> {
    if (this.closing) throw Replies.tempFailure();
    const key = this.keyOf(ip);
    const b = this.block(key);
    try {
      await new Promise<void>((resolve, reject) => {
        b.probes.push({ resolve, reject });
        this.kick(b);
      });
    } catch (e) {
      this.d.log.warn({ err: e, ip: key }, "S3: client actor did not answer at AUTH (451)");
      throw Replies.tempFailure();
    }
    return this.blocked(key);
  }

  /** S3: records a failed AUTH; the verdict, or undefined when the actor did not answer. Never rejects. */
  async failed(ip: string): Promise<FailureVerdict | undefined> {
    const key = this.keyOf(ip);
    try {
      const v = await this.d.port.authFailed(key);
      this.learn(key, v.blockedUntil);
      const b = this.ips.get(key);
      if (b) b.failures = v.failures;
      return v;
    } catch (e) {
      this.d.log.warn({ err: e, ip: key }, "S3: failed AUTH not recorded by the client actor");
      return undefined;
    }
  }

  /** S3: a successful AUTH after failures: the actor forgets them (sent, not awaited). */
  succeeded(ip: string): void {
    const key = this.keyOf(ip);
    const b = this.ips.get(key);
    if (b) b.failures = 0;
    Promise.resolve(key)
      .then((k) => this.d.port.authSucceeded(k))
      .catch((e) => {
        this.d.log.warn({ err: e, ip: key }, "S3: successful AUTH not told to the client actor");
      });
  }

  /** Connections open from this node's block of `ip` (tests, metrics). */
  count(ip: string): number {
    return this.ips.get(this.keyOf(ip))?.inUse ?? 0;
  }

  /** The slots this node's block of `ip` weighs at the actor, as last granted. */
  granted(ip: string): number {
    return this.ips.get(this.keyOf(ip))?.granted ?? 0;
  }

  /** One pass of the sweeper: hands idle spare slots back and renews blocks due (tests call it). */
  async sweep(): Promise<void> {
    const now = this.d.now();
    for (const [key, until] of this.blocks) if (until <= now) this.blocks.delete(key);
    for (const b of this.ips.values()) this.kick(b);
    await settled(() => this.ips.values());
  }

  /** Renews every block now, due or not (what the sweeper does every third of the lease). */
  async renew(): Promise<void> {
    for (const b of this.ips.values()) b.renewNow = true;
    await this.sweep();
  }

  /** Hands every block back (0 slots); connections from now on get 451. */
  async stop(): Promise<void> {
    this.closing = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.sweep();
  }

  private block(key: string): IpBlock {
    let b = this.ips.get(key);
    if (!b) {
      b = { ...emptyBlock(this.d.now()), key, failures: 0, waiters: [], probes: [], renewNow: false };
      this.ips.set(key, b);
      this.startSweeper();
    }
    return b;
  }

  /** The weight to ask for now, or undefined when the block needs no ask. */
  private want(b: IpBlock): number | undefined {
    // Closing: the block back, and an answer for any AUTH still waiting on one.
    if (this.closing) return b.granted > 0 || b.probes.length > 0 ? 0 : undefined;
    if (b.waiters.length > 0) return b.inUse + b.waiters.length;
    return upkeep(b, this.d.now(), this.timing, {
      renew: b.probes.length > 0 || (b.renewNow && b.granted > 0),
    });
  }

  /** Starts the block's ask loop when it needs one and none runs (it looks again after each answer). */
  private kick(b: IpBlock): void {
    if (b.asking || this.want(b) === undefined) return;
    b.asking = this.run(b).then((clean) => {
      b.asking = undefined;
      // What came after the loop's last look (after a failure, only new connects and probes ask again).
      if (clean ? this.want(b) !== undefined : b.waiters.length + b.probes.length > 0) this.kick(b);
      else this.forget(b);
    });
  }

  /** Asks while the block needs it; false when an ask failed. */
  private async run(b: IpBlock): Promise<boolean> {
    for (let want = this.want(b); want !== undefined; want = this.want(b)) {
      const sentAt = this.d.now();
      const probes = b.probes.splice(0); // answered by this ask, sent after they came
      b.renewNow = false;
      b.target = want;
      let r: ClientSlots;
      try {
        r = await this.d.port.slots(b.key, { leaseId: this.leaseId, holder: this.d.nodeId, slots: want });
      } catch (e) {
        unanswered(b, want);
        const waiters = b.waiters.splice(0);
        this.d.log.warn(
          { err: e, ip: b.key },
          waiters.length > 0
            ? "S3/S4: client actor did not answer; connection refused (451)"
            : "S4: IP slots ask failed; the sweeper tries again",
        );
        for (const w of waiters) w.reject(Replies.tempFailure());
        for (const p of probes) p.reject(e);
        return false;
      }
      answered(b, r.slots, sentAt, this.d.sessionLeaseMs);
      b.failures = r.failures;
      this.learn(b.key, r.blockedUntil);
      for (const p of probes) p.resolve();
      const refusal = this.closing
        ? Replies.tempFailure()
        : this.blocked(b.key)
          ? Replies.ipBlocked()
          : undefined;
      if (refusal) {
        for (const w of b.waiters.splice(0)) w.reject(refusal);
        continue;
      }
      this.serve(b, true);
      // The limit is reached now: refused too are those who came during the ask.
      if (r.slots < want) for (const w of b.waiters.splice(0)) w.reject(Replies.tooManyIpSessions());
    }
    return true;
  }

  /** Admits waiters in order while the block has spare slots (and its lease is valid, unless `fresh`). */
  private serve(b: IpBlock, fresh = false): void {
    if (this.blocked(b.key)) return;
    while (b.waiters.length > 0 && take(b, this.d.now(), fresh))
      b.waiters.shift()?.resolve({ failures: b.failures });
  }

  private forget(b: IpBlock): void {
    if (b.granted === 0 && b.inUse === 0 && b.waiters.length + b.probes.length === 0 && !b.asking)
      this.ips.delete(b.key);
    if (this.ips.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private startSweeper(): void {
    if (this.sweeper || this.closing) return;
    this.sweeper = setInterval(() => void this.sweep(), sweepEvery(this.timing));
    this.sweeper.unref?.();
  }

  private learn(key: string, blockedUntil: number): void {
    if (blockedUntil > this.d.now()) this.blocks.set(key, blockedUntil);
    else this.blocks.delete(key);
  }

  /** Node-side maps use the actor's spelling of the address; a non-address is its own key. */
  private keyOf(ip: string): string {
    try {
      return normalizeIp(ip);
    } catch {
      return ip;
    }
  }
}
