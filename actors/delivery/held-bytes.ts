/**
 * How many message bytes the delivery workers hold in memory at once (PETREL_DELIVERY_MAX_HELD_BYTES).
 * An attempt reads its message whole before it sends it (and a prefetched one keeps it, signed,
 * while it waits for a connection), so it takes its message's bytes here first and gives them back
 * when it ends.
 *
 * Two rules, so that memory stays bounded without one destination holding up the others:
 * - all domains together hold at most `max`; one attempt alone may always go past it;
 * - one recipient domain holds at most `max × share`, unless it holds nothing (a message bigger
 *   than that still goes, alone for its domain).
 * Waiting attempts go in arrival order. One that waits for the total waits for its turn: later
 * ones do not pass it, or a big message could wait for ever behind small ones. One that waits only
 * because its domain holds its share is stepped over, so a slow domain with big messages does not
 * stop the others.
 */
interface Waiter {
  domain: string;
  bytes: number;
  go(): void;
}

export class HeldBytes {
  /** Bytes held now, in all, and the most ever (the tests read it). */
  readonly stats = { now: 0, peak: 0 };
  /** Bytes and attempts held, per recipient domain that holds any. */
  private readonly byDomain = new Map<string, { bytes: number; attempts: number }>();
  private attempts = 0;
  private waiting: Waiter[] = [];

  constructor(
    private readonly max: number,
    private readonly share = 0.25,
  ) {}

  /** Resolves once `bytes` of `domain` may be held; pair it with one `release`. */
  acquire(domain: string, bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.fitsTotal(bytes) && this.fitsDomain(domain, bytes)) {
      this.take(domain, bytes);
      return Promise.resolve();
    }
    return new Promise((go) => {
      this.waiting.push({ domain, bytes, go });
      this.admit();
    });
  }

  release(domain: string, bytes: number): void {
    const d = this.byDomain.get(domain);
    if (d) {
      d.bytes -= bytes;
      if (--d.attempts === 0) this.byDomain.delete(domain);
    }
    this.attempts--;
    this.stats.now -= bytes;
    this.admit();
  }

  /** Attempts waiting for bytes. */
  get waiters(): number {
    return this.waiting.length;
  }

  private fitsTotal(bytes: number): boolean {
    return this.attempts === 0 || this.stats.now + bytes <= this.max;
  }

  private fitsDomain(domain: string, bytes: number): boolean {
    const d = this.byDomain.get(domain);
    return !d || d.bytes + bytes <= this.max * this.share;
  }

  private take(domain: string, bytes: number): void {
    const d = this.byDomain.get(domain);
    if (d) {
      d.bytes += bytes;
      d.attempts++;
    } else this.byDomain.set(domain, { bytes, attempts: 1 });
    this.attempts++;
    this.stats.now += bytes;
    this.stats.peak = Math.max(this.stats.peak, this.stats.now);
  }

  /** Lets waiters go in order: stops at the first one the total keeps, steps over domains at their share. */
  private admit(): void {
    const still: Waiter[] = [];
    let blocked = false;
    for (const w of this.waiting) {
      if (!blocked && this.fitsDomain(w.domain, w.bytes)) {
        if (this.fitsTotal(w.bytes)) {
          this.take(w.domain, w.bytes);
          w.go();
          continue;
        }
        blocked = true;
      }
      still.push(w);
    }
    this.waiting = still;
  }
}
