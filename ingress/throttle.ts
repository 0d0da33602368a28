/**
 * S3 anti-brute-force: N failed AUTHs from one IP within a window block that IP for a period.
 * A pure state machine over an injected clock (`now` passed in), so tests drive time.
 * Per node: a cluster-wide block would need a shared store (noted in the README as a gap).
 */
import { LocalLeases } from "../shared/model/lease.ts";

export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  blockMs: number;
  /** Bound on tracked IPs; the oldest entries go first. */
  maxTracked?: number;
}

interface Entry {
  failures: number[];
  blockedUntil: number;
}

export class AuthThrottle {
  private readonly ips = new Map<string, Entry>();

  constructor(private readonly o: ThrottleOptions) {}

  /** True while `ip` is blocked at `now`. */
  blocked(ip: string, now: number): boolean {
    const e = this.ips.get(ip);
    return !!e && e.blockedUntil > now;
  }

  /** Records a failed AUTH; returns true when this failure started a block. */
  fail(ip: string, now: number): boolean {
    const e = this.ips.get(ip) ?? { failures: [], blockedUntil: 0 };
    this.ips.delete(ip);
    e.failures = e.failures.filter((t) => t > now - this.o.windowMs);
    e.failures.push(now);
    let started = false;
    if (e.failures.length >= this.o.maxFailures && e.blockedUntil <= now) {
      e.blockedUntil = now + this.o.blockMs;
      e.failures = [];
      started = true;
    }
    this.ips.set(ip, e);
    const max = this.o.maxTracked ?? 100_000;
    while (this.ips.size > max) this.ips.delete(this.ips.keys().next().value as string);
    return started;
  }

  /** A successful AUTH forgets the IP's earlier failures (not an active block). */
  succeed(ip: string, now: number): void {
    const e = this.ips.get(ip);
    if (e && e.blockedUntil <= now) this.ips.delete(ip);
  }
}

/**
 * S4: simultaneous connections per client IP on this node, as leases (shared/model/lease.ts):
 * one table per IP, a lease per connection. No event renews them, so their TTL is the longest a
 * session may live (`smtpMaxSessionMs`, S13): a connection whose close was never seen frees its
 * slot by then instead of holding it for the life of the process.
 */
export class IpSlots {
  private readonly leases: LocalLeases;

  constructor(
    private readonly max: number,
    ttlMs: number,
    now: () => number,
  ) {
    this.leases = new LocalLeases(ttlMs, now);
  }

  /** Takes a slot for connection `id`; false when the IP already holds `max`. */
  acquire(ip: string, id: string): boolean {
    return this.leases.acquire(ip, id, ip, { total: this.max }) !== undefined;
  }

  release(ip: string, id: string): void {
    this.leases.release(ip, id);
  }

  count(ip: string): number {
    return this.leases.count(ip);
  }
}
