/**
 * The suppression view of one node (D8, S9; issue 16): every account's suppression list folded
 * from the compacted `suppressions` topic into memory, so that ingress checks a recipient with a
 * lookup instead of an ask to the account's suppression actor per RCPT.
 *
 * The suppression actors write the topic (actors/account/suppression.ts): an entry per suppressed
 * address (a tombstone when removed) and, once an actor has written its whole list, its account's
 * `complete` marker. An account without the marker (its list predates the topic, or it has
 * never been looked at) is not answered here: the caller asks its actor once, which writes the
 * list and the marker.
 *
 * Start and follow as DirectoryView does: replay to the end (`ready()`), then a consumer group
 * of its own that never commits; records at or below the applied offset are skipped. `sync()` is
 * the read barrier: every record published before the call is applied once it resolves true (an
 * address the API acknowledged as added, on any node, is suppressed here too). Concurrent callers
 * share one end-offset request.
 */
import { randomUUID } from "node:crypto";
import type { Bus, BusRecord, Subscription } from "../bus/types.ts";
import {
  SUPPRESSIONS_TOPIC,
  SUPPRESSIONS_TOPIC_SPEC,
  suppressionEntryKey,
  suppressionMarkerKey,
} from "./topic.ts";

export interface SuppressionViewOptions {
  bus: Bus;
  nodeId: string;
  onError?(error: unknown): void;
}

/** How long `sync()` waits by default before answering false. */
export const SUPPRESSION_SYNC_TIMEOUT_MS = 1_000;

export class SuppressionView {
  /** Entry and marker keys present (the value does not matter for a lookup). */
  private readonly keys = new Set<string>();
  private readonly applied = new Map<number, number>();
  private readonly waiters = new Set<() => void>();
  private sub: Subscription | undefined;
  private starting: Promise<void> | undefined;
  private endsInFlight: Promise<number[]> | undefined;
  private endsNext: Promise<number[]> | undefined;
  private closed = false;

  constructor(private readonly o: SuppressionViewOptions) {}

  ready(): Promise<void> {
    this.starting ??= this.start();
    return this.starting;
  }

  /** Is this account's whole list here? (else its actor must be asked once) */
  covers(accountId: string): boolean {
    return this.keys.has(suppressionMarkerKey(accountId));
  }

  /** Is the address on the account's list? Only meaningful when `covers(accountId)`. */
  has(accountId: string, address: string): boolean {
    return this.keys.has(suppressionEntryKey(accountId, address));
  }

  /** Read barrier: true once every record published before the call is applied. */
  async sync(timeoutMs = SUPPRESSION_SYNC_TIMEOUT_MS): Promise<boolean> {
    await this.ready();
    const ends = await this.ends();
    if (this.reached(ends)) return true;
    return new Promise((resolve) => {
      const check = () => {
        if (!this.reached(ends)) return;
        done(true);
      };
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => done(this.reached(ends)), timeoutMs);
      timer.unref?.();
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await this.sub?.close();
    this.sub = undefined;
  }

  private async start(): Promise<void> {
    const { bus } = this.o;
    await bus.ensureTopics([SUPPRESSIONS_TOPIC_SPEC]);
    const count = await bus.partitionCount(SUPPRESSIONS_TOPIC);
    await bus.replay(
      SUPPRESSIONS_TOPIC,
      Array.from({ length: count }, (_, i) => i),
      (r) => this.apply(r),
    );
    if (this.closed) return;
    this.sub = await bus.subscribe({
      group: `suppression-view.${this.o.nodeId}.${randomUUID()}`,
      topics: [SUPPRESSIONS_TOPIC],
      fromBeginning: true,
      autoCommit: false,
      handler: async (r) => this.apply(r),
      onError: (e) => this.o.onError?.(e),
    });
  }

  private reached(ends: number[]): boolean {
    return ends.every((end, p) => end === 0 || (this.applied.get(p) ?? -1) >= end - 1);
  }

  /** Ends fetched at or after the call; callers arriving during a request share the next one. */
  private ends(): Promise<number[]> {
    if (!this.endsInFlight) {
      const p = this.o.bus.endOffsets(SUPPRESSIONS_TOPIC);
      this.endsInFlight = p;
      const done = () => {
        if (this.endsInFlight === p) this.endsInFlight = undefined;
      };
      p.then(done, done);
      return p;
    }
    this.endsNext ??= this.endsInFlight
      .catch(() => undefined)
      .then(() => {
        this.endsNext = undefined;
        return this.ends();
      });
    return this.endsNext;
  }

  private apply(r: BusRecord): void {
    if (r.offset <= (this.applied.get(r.partition) ?? -1)) return;
    this.applied.set(r.partition, r.offset);
    if (r.value.length === 0) this.keys.delete(r.key);
    else this.keys.add(r.key);
    for (const w of this.waiters) w();
  }
}
