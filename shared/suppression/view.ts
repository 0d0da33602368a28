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
 * Start, follow and read barrier as every compacted-topic view (shared/bus/compacted-view.ts):
 * `ready()` replays the topic to its end, then a consumer group of its own that never commits
 * follows it; records at or below the applied offset are skipped. `sync()` is the read barrier:
 * every record published before the call is applied once it resolves true (an address the API
 * acknowledged as added, on any node, is suppressed here too). Concurrent callers share one
 * end-offset request.
 */
import { CompactedTopicView } from "../bus/compacted-view.ts";
import type { Bus, BusRecord } from "../bus/types.ts";
import { SUPPRESSIONS_TOPIC_SPEC, suppressionEntryKey, suppressionMarkerKey } from "./topic.ts";

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
  private readonly topic: CompactedTopicView;

  constructor(o: SuppressionViewOptions) {
    this.topic = new CompactedTopicView({
      bus: o.bus,
      topic: SUPPRESSIONS_TOPIC_SPEC,
      groupPrefix: `suppression-view.${o.nodeId}`,
      fold: (r) => this.fold(r),
      onError: (e) => o.onError?.(e),
    });
  }

  ready(): Promise<void> {
    return this.topic.ready();
  }

  /** Is this account's whole list here? (else its actor must be asked once) */
  covers(accountId: string): boolean {
    return this.keys.has(suppressionMarkerKey(accountId));
  }

  /** Is the address on the account's list? Only meaningful when `covers(accountId)`. */
  has(accountId: string, address: string): boolean {
    return this.keys.has(suppressionEntryKey(accountId, address));
  }

  /**
   * Read barrier: true once every record published before the call is applied. Unlike the base's
   * `sync()`, the timeout only starts once the end offsets are known, and a failed start or
   * end-offset request rejects instead of answering false.
   */
  async sync(timeoutMs = SUPPRESSION_SYNC_TIMEOUT_MS): Promise<boolean> {
    await this.topic.ready();
    const ends = await this.topic.endOffsets();
    return this.topic.waitUntilReached(ends, timeoutMs);
  }

  close(): Promise<void> {
    return this.topic.close();
  }

  private fold(r: BusRecord): void {
    if (r.value.length === 0) this.keys.delete(r.key);
    else this.keys.add(r.key);
  }
}
