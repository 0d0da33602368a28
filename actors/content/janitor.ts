/**
 * The content janitor (X5), a job of the relay: deletes from the content store each reference the
 * content ledger (behavior.ts) emits on `content.delete` once every recipient of its message has a
 * final status.
 *
 * References are gathered across partitions for up to `gatherMs` (or `maxBatch` of them) and
 * deleted with one `deleteMany`: one DeleteObjects request per 1,000 keys in S3 instead of one
 * request per message (a DeleteObject cost the node ~1 CPU-ms), one durable append in the
 * segment log. Offsets are committed only once their batch is deleted, so a crash or a rebalance
 * makes the next owner delete a batch again, which is harmless (idempotent).
 * A store that fails is retried a few times (1, 2, 4, 8 s); then the batch is logged and left
 * (stored bytes stay counted) rather than stopping the partitions. A janitor that closes while
 * its store fails leaves the batch uncommitted, for the next one.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Bus, Subscription } from "../../shared/bus/types.ts";
import type { ContentStore } from "../../shared/content/store.ts";
import type { Logger } from "../../shared/log.ts";
import { CONTENT_DELETE_TOPIC } from "./behavior.ts";

export const CONTENT_JANITOR_GROUP = "content.janitor";

interface Batch {
  refs: string[];
  /** partition → the offset after its last reference in the batch */
  offsets: Map<number, number>;
}

const decoder = new TextDecoder();

const empty = (): Batch => ({ refs: [], offsets: new Map() });

export async function startContentJanitor(o: {
  bus: Bus;
  store: ContentStore;
  partitions: number;
  log?: Logger;
  /** References in one `deleteMany` at most (default 500). */
  maxBatch?: number;
  /** How long a reference waits for others to join its batch (default 100 ms). */
  gatherMs?: number;
  /** Pause before the attempt after `attempt` failed (default 1, 2, 4, 8 s). */
  retryMs?(attempt: number): number;
}): Promise<Subscription> {
  const maxBatch = o.maxBatch ?? 500;
  const gatherMs = o.gatherMs ?? 100;
  const retryMs = o.retryMs ?? ((attempt: number) => 1000 * 2 ** (attempt - 1));
  let pending = empty();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let chain: Promise<void> = Promise.resolve();
  let sub: Subscription | undefined;
  /** Aborted when the janitor closes: ends a pause between attempts. */
  const closing = new AbortController();

  /** false: closing, the batch is left uncommitted for the next reader to delete. */
  const remove = async (refs: string[]): Promise<boolean> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await o.store.deleteMany(refs);
        return true;
      } catch (e) {
        if (closing.signal.aborted) return false;
        if (attempt >= 5) {
          o.log?.error(
            { err: e, refs: refs.length, first: refs[0] },
            "content janitor: delete failed, content left in the store",
          );
          return true;
        }
        const paused = await sleep(retryMs(attempt), true, { signal: closing.signal }).catch(() => false);
        if (!paused) return false;
      }
    }
  };

  /** Deletes what is gathered, then commits its offsets; flushes run one after another. */
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const run = chain.then(async () => {
      const batch = pending;
      pending = empty();
      if (batch.offsets.size === 0) return;
      if (batch.refs.length > 0 && !(await remove(batch.refs))) return;
      // Together: the log's offsets journal writes concurrent commits in one fdatasync.
      await Promise.all(
        [...batch.offsets].map(([partition, offset]) =>
          sub?.commit({ topic: CONTENT_DELETE_TOPIC, partition }, offset),
        ),
      );
    });
    chain = run.catch((e) => o.log?.error({ err: e }, "content janitor: commit failed"));
    return chain;
  };

  await o.bus.ensureTopics([{ name: CONTENT_DELETE_TOPIC, partitions: o.partitions }]);
  sub = await o.bus.subscribe({
    group: CONTENT_JANITOR_GROUP,
    topics: [CONTENT_DELETE_TOPIC],
    fromBeginning: true,
    autoCommit: false,
    // A partition moves to another member only once what was read from it is deleted and committed.
    holdUntilCommitted: true,
    onRevoke: () => flush(),
    handler: async (r) => {
      pending.refs.push(decoder.decode(r.value));
      pending.offsets.set(r.partition, r.offset + 1);
      if (pending.refs.length >= maxBatch) await flush();
      else if (!timer && !closing.signal.aborted) timer = setTimeout(() => void flush(), gatherMs);
    },
    onError: (e) => o.log?.error({ err: e }, "content janitor error"),
  });
  const inner = sub;
  return {
    commit: (tp, offset) => inner.commit(tp, offset),
    assignment: () => inner.assignment(),
    async close() {
      closing.abort();
      await flush();
      await inner.close();
    },
  };
}
