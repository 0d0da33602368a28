/**
 * The bytes of messages this node stored lately, kept so that its own deliveries read them from
 * memory instead of the store: in cluster mode a GetObject costs the node about as much CPU as the
 * PutObject (AWS SDK request path), and the node that accepted a message often delivers it too.
 * Content is immutable, so a copy is never stale; a delete drops it. Bounded by total bytes and by
 * age (oldest written, first out); one message is kept only when it is at most an eighth of the
 * bound, so a few large ones cannot flush the many small (and the S3 store offers only those it
 * wrote in one PutObject, up to 5 MiB), and, where a floor is set, at least `minBytes`.
 */
export class RecentContent {
  /** ref → bytes, in the order they were stored */
  private readonly entries = new Map<string, { bytes: Buffer; at: number }>();
  private total = 0;

  private readonly maxAgeMs: number;
  private readonly minBytes: number;
  private readonly now: () => number;

  /**
   * `maxBytes`: the bound of the bytes held; `maxAgeMs`: how long an entry is served (default 10
   * min); `minBytes`: smallest message kept (default 0: any), for a store whose own read of a small
   * message costs less than keeping thousands of them alive (the local store).
   */
  constructor(
    private readonly maxBytes: number,
    o: { maxAgeMs?: number; minBytes?: number; now?: () => number } = {},
  ) {
    this.maxAgeMs = o.maxAgeMs ?? 10 * 60_000;
    this.minBytes = o.minBytes ?? 0;
    this.now = o.now ?? Date.now;
  }

  /** Largest message kept. */
  get entryLimit(): number {
    return Math.floor(this.maxBytes / 8);
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.total;
  }

  add(ref: string, bytes: Buffer): void {
    if (bytes.length > this.entryLimit || bytes.length < this.minBytes) return;
    this.delete(ref);
    this.entries.set(ref, { bytes, at: this.now() });
    this.total += bytes.length;
    for (const [oldest, e] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= e.bytes.length;
    }
  }

  get(ref: string): Buffer | undefined {
    const e = this.entries.get(ref);
    if (!e) return undefined;
    if (this.now() - e.at > this.maxAgeMs) {
      this.expire();
      return undefined;
    }
    return e.bytes;
  }

  delete(ref: string): void {
    const e = this.entries.get(ref);
    if (!e) return;
    this.entries.delete(ref);
    this.total -= e.bytes.length;
  }

  /** Drops every entry past its age (they are in age order). */
  private expire(): void {
    const now = this.now();
    for (const [ref, e] of this.entries) {
      if (now - e.at <= this.maxAgeMs) break;
      this.entries.delete(ref);
      this.total -= e.bytes.length;
    }
  }
}
