/**
 * This node's side of the client IP actors (S3, S4 per IP; actors/client/behavior.ts), kept cheap
 * for clients that connect per message:
 *
 * - connect: one ask takes the connection's IP lease and says whether the IP is blocked (421 4.7.0
 *   either way). An actor that does not answer gets 451 4.3.0, as the account actor's failures do
 *   at AUTH: a node that cannot reach its actors cannot accept mail, so it refuses for now rather
 *   than serve without the limits.
 * - AUTH: no ask on a connection whose IP had no failed AUTH in the window when it connected and
 *   that has not failed since: the common case costs nothing. A failure is sent without waiting
 *   (535 goes out at once; its answer says whether the IP is now blocked); the connection's next
 *   AUTH waits for that answer and asks the actor once more (`blockedNow`), so a guessing client
 *   meets a block earned on any node at its next attempt. Blocks answered to this node (at
 *   connect, failure, AUTH or renew) are remembered until they end, so in-flight AUTHs on this
 *   node fail at once; AUTHs on clean connections opened before the block, on a node that has not
 *   heard of it, are refused from its next renew (every third of the lease) at the latest.
 * - leases: one renew ask per IP every third of `sessionLeaseMs` carries every lease this node
 *   holds for the IP (and brings back its block); a node that dies frees its slots within one
 *   lease. Release is asked at close and awaited, so `count` drops once the actor knows.
 */
import { randomBytes } from "node:crypto";
import type { ClientAdmission, FailureVerdict } from "../actors/client/behavior.ts";
import { normalizeIp } from "../actors/keys.ts";
import type { Logger } from "../shared/log.ts";
import type { ClientPort } from "./client-port.ts";
import { Replies } from "./errors.ts";

export interface ClientGateDeps {
  port: ClientPort;
  nodeId: string;
  sessionLeaseMs: number;
  now(): number;
  log: Logger;
}

export interface Admitted {
  leaseId: string;
  /** S3 failures the IP has in the window (a later success tells the actor to forget them). */
  failures: number;
}

export class ClientGate {
  /** Lease ids this node holds, by normalised IP. */
  private readonly held = new Map<string, Set<string>>();
  /** Blocks answered to this node: until when (ms), by normalised IP. */
  private readonly blocks = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private renewing = false;

  constructor(private readonly d: ClientGateDeps) {
    this.timer = setInterval(() => void this.renew(), Math.max(500, Math.floor(d.sessionLeaseMs / 3)));
    this.timer.unref();
  }

  /** S3, S4: admits a connection from `ip` or throws the 421 (blocked, too many) or 451 reply. */
  async admit(ip: string, sessionId: string): Promise<Admitted> {
    const key = this.keyOf(ip);
    const leaseId = `${this.d.nodeId}.${sessionId}.${randomBytes(4).toString("hex")}`;
    let a: ClientAdmission;
    try {
      a = await this.d.port.connect(key, leaseId, this.d.nodeId);
    } catch (e) {
      this.d.log.warn({ err: e, ip: key }, "S3/S4: client actor did not answer; connection refused (451)");
      throw Replies.tempFailure();
    }
    if (!a.admitted) {
      if (a.refusedBy === "blocked") {
        this.learn(key, a.blockedUntil);
        throw Replies.ipBlocked();
      }
      throw Replies.tooManyIpSessions();
    }
    this.blocks.delete(key);
    const ids = this.held.get(key) ?? new Set<string>();
    this.held.set(key, ids.add(leaseId));
    return { leaseId, failures: a.failures };
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
   * S3: asks the actor whether `ip` is blocked now (renewing the connection's lease on the way);
   * for AUTHs on connections that know of failures from their IP. Throws 451 when it does not answer.
   */
  async blockedNow(ip: string, leaseId: string | undefined): Promise<boolean> {
    const key = this.keyOf(ip);
    try {
      const r = await this.d.port.renew(key, leaseId ? [leaseId] : []);
      this.learn(key, r.blockedUntil);
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
      return v;
    } catch (e) {
      this.d.log.warn({ err: e, ip: key }, "S3: failed AUTH not recorded by the client actor");
      return undefined;
    }
  }

  /** S3: a successful AUTH after failures: the actor forgets them (sent, not awaited). */
  succeeded(ip: string): void {
    const key = this.keyOf(ip);
    Promise.resolve(key)
      .then((k) => this.d.port.authSucceeded(k))
      .catch((e) => {
        this.d.log.warn({ err: e, ip: key }, "S3: successful AUTH not told to the client actor");
      });
  }

  /** S4: gives the connection's lease back; resolves once the actor answered (or failed to). */
  async release(ip: string, leaseId: string): Promise<void> {
    const key = this.keyOf(ip);
    try {
      await this.d.port.release(key, leaseId);
    } catch (e) {
      this.d.log.warn({ err: e, ip: key, leaseId }, "S4: IP lease release failed; it lapses with its TTL");
    } finally {
      const ids = this.held.get(key);
      ids?.delete(leaseId);
      if (ids?.size === 0) this.held.delete(key);
    }
  }

  /** IP leases this node holds (tests, metrics). */
  count(ip: string): number {
    return this.held.get(this.keyOf(ip))?.size ?? 0;
  }

  /** One renew per IP for every lease this node holds; the timer calls it, tests may too. */
  async renew(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      await Promise.all(
        [...this.held].map(async ([key, ids]) => {
          try {
            const r = await this.d.port.renew(key, [...ids]);
            this.learn(key, r.blockedUntil);
            if (r.lost.length > 0)
              this.d.log.warn({ ip: key, lost: r.lost.length }, "S4: IP leases had lapsed before renewal");
          } catch (e) {
            this.d.log.warn({ err: e, ip: key }, "S4: IP lease renew failed");
          }
        }),
      );
      const now = this.d.now();
      for (const [key, until] of this.blocks) if (until <= now) this.blocks.delete(key);
    } finally {
      this.renewing = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
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
