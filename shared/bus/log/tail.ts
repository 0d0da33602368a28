/**
 * The newest durable records of a partition, as their frames, in memory: a consumer that keeps up
 * with the log (the actors' inboxes, the delivery workers, the analytics sink) reads them from
 * here instead of from the segment file — no read through the thread pool (a wake-up and a context
 * switch each, about 5 per accepted message on ingress before this) and no checksum pass, the same
 * records decoded from the same bytes. Only durable records enter (after their fsync), at
 * consecutive offsets (appends number them so; a reopened log starts with an empty tail), of the
 * active segment only (emptied when a segment closes: closed segments may be compacted or deleted,
 * and a reader must then see what the files hold). Bounded by bytes: the oldest frames leave first,
 * and a reader behind the tail reads the file as before.
 */
import { decodeFrame, type StoredRecord } from "./format.ts";

export class TailCache {
  private frames: Buffer[] = [];
  /** Index of the oldest frame kept in `frames` (earlier slots are dropped lazily). */
  private head = 0;
  /** Offset of `frames[head]`. */
  private start = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Adds durable frames at `offset`, `offset + 1`, …; a gap (never expected) empties the tail first. */
  add(offset: number, frames: readonly Buffer[]): void {
    if (frames.length === 0 || this.maxBytes <= 0) return;
    if (this.size() > 0 && offset !== this.start + this.size()) this.clear();
    if (this.size() === 0) this.start = offset;
    for (const f of frames) {
      this.frames.push(f);
      this.bytes += f.length;
    }
    while (this.bytes > this.maxBytes && this.size() > 1) {
      this.bytes -= (this.frames[this.head] as Buffer).length;
      this.frames[this.head] = undefined as unknown as Buffer;
      this.head++;
      this.start++;
    }
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
  }

  /** Whether the record at `offset` is here. */
  has(offset: number): boolean {
    return offset >= this.start && offset < this.start + this.size();
  }

  /**
   * Records from `from` (which `has`) below `until`, about `maxBytes` of them (at least one), as
   * a segment read returns them.
   */
  read(from: number, until: number, maxBytes: number): StoredRecord[] {
    const out: StoredRecord[] = [];
    let bytes = 0;
    const end = Math.min(until, this.start + this.size());
    for (let o = from; o < end && (out.length === 0 || bytes < maxBytes); o++) {
      const frame = this.frames[this.head + (o - this.start)] as Buffer;
      out.push(decodeFrame(frame, 0));
      bytes += frame.length;
    }
    return out;
  }

  clear(): void {
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
  }

  private size(): number {
    return this.frames.length - this.head;
  }
}
