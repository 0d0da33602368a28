/**
 * The event sink (issue 6): reads `events.status` with a consumer group and writes the events to
 * ClickHouse's `events` table in batches; the materialized views of migration 0002 derive the
 * statistics tables from each insert.
 *
 * Exactly once in effect. The bus is at-least-once: after a crash the records since the last
 * committed offset come again, in batches that need not match the first ones. So every batch is
 * inserted whole, replays included: `events` is a ReplacingMergeTree keyed by (account_id, ts,
 * event_id) and read with FINAL, and every derived table uses aggregates that a duplicate cannot
 * change (min/max/any/argMax/uniqExact). Skipping "already stored" events is wrong: a crash between
 * the `events` part and its materialized views' parts leaves the events stored and the derived
 * tables without them, and only re-inserting feeds the views (found by the replay test). For the
 * same reason no insert_deduplication_token is used and inserts run with insert_deduplicate = 0: a
 * deduplicated insert (`events` keeps a dedup window) skips the views too.
 * Offsets are committed only after the insert returned (inserts are synchronous: PARITY_SETTINGS).
 * Proven by tests/analytics/replay.test.ts (killed between insert and commit, and at random points).
 *
 * One writer per partition. Replays are harmless only one after the other: `stats_final` (migration
 * 0003) corrects what is stored, so two inserts of one recipient's events running at once both count
 * it. With Kafka's eager rebalancing the next owner reads a partition from its committed offset, so
 * the sink subscribes with `holdUntilCommitted`: a partition moves only once every record read from
 * it is inserted and committed (kafkajs rejoins only then); on the embedded log, the awaited
 * onRevoke flush does the same. Proven by tests/analytics/sink-rebalance.test.ts (a member joins
 * during a slow insert).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Bus, BusRecord, Subscription } from "../bus/types.ts";
import type { SinkRecorder } from "../metrics.ts";
import { decodeStatusEvent, STATUS_EVENTS_TOPIC, STATUS_EVENTS_TOPIC_SPEC } from "../model/event.ts";
import { EVENT_COLUMNS, type EventRow, eventRow, eventValues } from "./rows.ts";

export const SINK_GROUP = "analytics-sink";

export interface SinkOptions {
  bus: Bus;
  client: ClickHouseClient;
  group?: string;
  /** Flush when this many events wait (and the handler waits for the flush: backpressure). */
  maxBatch?: number;
  /** Flush at most this long after the first waiting event: the gather window, and its floor. */
  flushMs?: number;
  /**
   * The window's ceiling (default `flushMs`: a fixed window). Every insert costs about the same
   * whatever its size (chDB: ~0.1 CPU-s for a part of `events` and of each materialized view), so
   * under a heavy stream the window doubles after each insert of at least `heavyBatch` events, up
   * to this; after a lighter insert it halves back toward `flushMs`. A light stream keeps `flushMs`.
   * The same idea as ClickHouse's adaptive busy timeout of asynchronous inserts.
   */
  flushMaxMs?: number;
  /** Events in one insert that make the stream heavy (default 200: a one-recipient message makes two, Accepted and Delivered). */
  heavyBatch?: number;
  fromBeginning?: boolean;
  /** Partitions of `events.status` when the sink creates it (the relay's PETREL_PARTITIONS). */
  partitions?: number;
  onError?(error: unknown, record?: BusRecord): void;
  /** X4: each batch inserted, with its oldest event's age (shared/metrics.ts). */
  metrics?: SinkRecorder;
  /**
   * Test hooks: the replay test kills the process between the insert and the offset commit; the
   * rebalance test holds an insert back (a slow insert) while another member joins.
   */
  hooks?: {
    beforeInsert?(rows: number): void | Promise<void>;
    afterInsert?(inserted: number, batch: number): void | Promise<void>;
  };
}

export interface SinkStats {
  batches: number;
  inserted: number;
  /** Events dropped because the same event id came twice in one batch (a producer retry). */
  skippedDuplicates: number;
  /** Records that were not valid status events (logged through onError, then skipped). */
  invalid: number;
  /** The gather window now in force (between `flushMs` and `flushMaxMs`). */
  windowMs: number;
}

export interface EventSink {
  readonly stats: SinkStats;
  /** Writes what waits now and commits its offsets. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  /** Rows with the partition they were read from. */
  rows: { partition: number; row: EventRow }[];
  /** Next offset to commit per partition. */
  offsets: Map<number, number>;
}

/** The longest pause between two tries of a full batch's failed write. */
const RETRY_MAX_MS = 5_000;

const nothing = (): Pending => ({ rows: [], offsets: new Map() });

/** `later` after `earlier`: rows in order, the later offset of each partition. */
function merge(earlier: Pending, later: Pending): Pending {
  return { rows: [...earlier.rows, ...later.rows], offsets: new Map([...earlier.offsets, ...later.offsets]) };
}

function without(p: Pending, partitions: Set<number>): Pending {
  return {
    rows: p.rows.filter((r) => !partitions.has(r.partition)),
    offsets: new Map([...p.offsets].filter(([partition]) => !partitions.has(partition))),
  };
}

/**
 * The gather window after an insert of `inserted` events: doubled (up to `flushMaxMs`) after a
 * heavy insert, halved (down to `flushMs`) after a light one.
 */
export function nextWindow(
  windowMs: number,
  inserted: number,
  o: { flushMs: number; flushMaxMs: number; heavyBatch: number },
): number {
  return inserted >= o.heavyBatch
    ? Math.min(o.flushMaxMs, windowMs * 2)
    : Math.max(o.flushMs, Math.floor(windowMs / 2));
}

export async function startSink(o: SinkOptions): Promise<EventSink> {
  const maxBatch = o.maxBatch ?? 1000;
  const flushMs = o.flushMs ?? 200;
  const flushMaxMs = Math.max(flushMs, o.flushMaxMs ?? flushMs);
  const heavyBatch = o.heavyBatch ?? 200;
  const stats: SinkStats = { batches: 0, inserted: 0, skippedDuplicates: 0, invalid: 0, windowMs: flushMs };
  let pending = nothing();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let chain: Promise<void> = Promise.resolve();
  let sub: Subscription | undefined;
  let closed = false;
  /** A rebalance is under way (between onRebalanceStart and onRebalanceEnd). */
  let rebalancing = false;
  /** End the pauses of handlers waiting to write a full batch again (see writeFull). */
  const wakers = new Set<() => void>();
  const wakeAll = () => {
    for (const w of wakers) w();
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });

  const writeBatch = async (batch: Pending): Promise<void> => {
    // Within the batch, one row per event id (a producer retry may have published it twice).
    const unique = new Map<string, EventRow>();
    for (const { row } of batch.rows) if (!unique.has(row.event_id)) unique.set(row.event_id, row);
    const fresh = [...unique.values()];
    stats.skippedDuplicates += batch.rows.length - fresh.length;
    if (fresh.length > 0) {
      await o.hooks?.beforeInsert?.(fresh.length);
      // insert_deduplicate 0: a replayed batch identical to a stored block must still reach the
      // views (a deduplicated block skips them), e.g. after a crash between the `events` part and
      // the views' parts; `events` is read with FINAL and the derived tables ignore duplicates.
      await o.client.insert({
        table: "events",
        values: fresh.map(eventValues),
        columns: [...EVENT_COLUMNS],
        format: "JSONCompactEachRow",
        clickhouse_settings: { insert_deduplicate: 0 },
      });
    }
    stats.batches++;
    stats.inserted += fresh.length;
    stats.windowMs = nextWindow(stats.windowMs, fresh.length, { flushMs, flushMaxMs, heavyBatch });
    if (fresh.length > 0) o.metrics?.batch(fresh.length, (Date.now() - oldestTs(fresh)) / 1000);
    await o.hooks?.afterInsert?.(fresh.length, stats.batches);
    for (const [partition, offset] of batch.offsets) {
      await sub?.commit({ topic: STATUS_EVENTS_TOPIC, partition }, offset);
    }
  };

  const arm = () => {
    if (!timer && !closed) timer = setTimeout(() => void flush().catch(() => {}), stats.windowMs);
  };

  /**
   * Writes what waits once the writes before it are done. `full`: only if a full batch still waits
   * by then. Handlers of several partitions can find the batch full in one turn; the first write
   * takes all of it, and the others must not write the few rows that came in meanwhile (an insert
   * costs about the same whatever its size; they wait for the window instead).
   */
  const flush = (full = false): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const run = chain.then(async () => {
      if (pending.offsets.size === 0) return;
      if (full && pending.rows.length < maxBatch) {
        arm();
        return;
      }
      const batch = pending;
      pending = nothing();
      try {
        await writeBatch(batch);
      } catch (e) {
        // Not inserted, or not committed: it goes first into the next flush (a timer retries), so
        // no later offset of its partitions is committed before it is stored. Inserting rows again
        // that were stored is harmless: this member is still their partitions' only writer.
        pending = merge(batch, pending);
        arm();
        throw e;
      }
    });
    // A failed write stays failed for its caller; later flushes still run.
    chain = run.catch((e) => o.onError?.(e));
    return run;
  };

  /**
   * Backpressure on a full batch: the handler waits until it is written. A failed write is not the
   * record's failure: a handler that threw would stop its partition until a restart (found by
   * tests/analytics/sink-retry.test.ts). The failure is reported (the flush chain) and the write
   * tried again after a growing pause, until it goes through, the sink closes or a rebalance
   * starts — which must not wait on ClickHouse: what was read stays pending and uncommitted, and
   * onRevoke drops the revoked partitions' share for their next owner to read again.
   */
  const writeFull = async (): Promise<void> => {
    for (
      let ms = flushMs;
      pending.rows.length >= maxBatch && !closed && !rebalancing;
      ms = Math.min(ms * 2, RETRY_MAX_MS)
    ) {
      try {
        await flush(true);
      } catch {
        await pause(ms);
      }
    }
  };

  await o.bus.ensureTopics([STATUS_EVENTS_TOPIC_SPEC(o.partitions ?? (await partitionsOf(o.bus)))]);
  sub = await o.bus.subscribe({
    group: o.group ?? SINK_GROUP,
    topics: [STATUS_EVENTS_TOPIC],
    fromBeginning: o.fromBeginning ?? true,
    autoCommit: false,
    // One writer per partition: the partition moves on only once what was read from it is inserted
    // and committed (on Kafka, the member rejoins a rebalance only then).
    holdUntilCommitted: true,
    onError: (e, r) => o.onError?.(e, r),
    onRebalanceStart: () => {
      rebalancing = true;
      wakeAll();
    },
    onRebalanceEnd: () => {
      rebalancing = false;
    },
    // Revoked partitions: write what was read from them before the new owner starts (the embedded
    // log awaits this; on Kafka nothing is left by then: see holdUntilCommitted). What could not be
    // written is dropped: it was not committed, so the new owner reads it again.
    onRevoke: async (tps) => {
      await flush().catch(() => {}); // reported by the flush chain
      pending = without(pending, new Set(tps.map((tp) => tp.partition)));
    },
    handler: async (record) => {
      const parsed = decodeStatusEvent(record.value);
      if (parsed.success) pending.rows.push({ partition: record.partition, row: eventRow(parsed.data) });
      else {
        stats.invalid++;
        o.onError?.(new Error(`invalid status event: ${parsed.error.message}`), record);
      }
      pending.offsets.set(record.partition, record.offset + 1);
      if (pending.rows.length >= maxBatch) await writeFull();
      else arm();
    },
  });

  return {
    stats,
    flush,
    async close() {
      if (closed) return;
      closed = true;
      wakeAll();
      await flush().catch((e) => o.onError?.(e));
      await sub?.close();
      if (timer) clearTimeout(timer);
      // Records handed over while closing are not committed: they come again to the next reader.
    },
  };
}

/** ms of the oldest event's ts (`YYYY-MM-DD hh:mm:ss.sss`, UTC) among the rows. */
function oldestTs(rows: EventRow[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const r of rows) min = Math.min(min, Date.parse(`${r.ts.replace(" ", "T")}Z`));
  return Number.isFinite(min) ? min : Date.now();
}

async function partitionsOf(bus: Bus): Promise<number> {
  try {
    return await bus.partitionCount(STATUS_EVENTS_TOPIC);
  } catch {
    return 8;
  }
}
