/**
 * The content janitor (X5) on the real embedded log and the real local store: references emitted
 * on `content.delete` are deleted in batches (one deleteMany for many records, across partitions),
 * offsets are committed only once their batch is gone, a failing store is tried again, and a
 * janitor closed while its store fails leaves the batch uncommitted for the next one.
 * Fails if the janitor deletes one reference per call, commits before deleting or drops a batch.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { CONTENT_DELETE_TOPIC } from "../../actors/content/behavior.ts";
import { CONTENT_JANITOR_GROUP, startContentJanitor } from "../../actors/content/janitor.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { ContentNotFoundError, type ContentStore } from "../../shared/content/store.ts";
import { waitFor } from "../helpers/wait.ts";

const PARTITIONS = 4;
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The real store, its deleteMany calls counted and failing while `failing` says so. */
function recording(store: LocalContentStore, failing: () => boolean = () => false) {
  const calls: string[][] = [];
  const wrapped: ContentStore = {
    put: (c, h) => store.put(c, h),
    get: (r) => store.get(r),
    delete: (r) => store.delete(r),
    deleteMany: async (refs) => {
      calls.push([...refs]);
      if (failing()) throw new Error("store unavailable");
      return store.deleteMany(refs);
    },
    storedBytes: () => store.storedBytes(),
    close: () => store.close(),
  };
  return { wrapped, calls };
}

async function setup(messages: number) {
  const dir = mkdtempSync(join(tmpdir(), "petrel-janitor-"));
  dirs.push(dir);
  const bus = await LogBus.open({ dir: join(dir, "bus"), maintenanceIntervalMs: 0 });
  const store = await LocalContentStore.open(join(dir, "content"));
  cleanups.push(async () => {
    await bus.close();
    await store.close();
  });
  await bus.ensureTopics([{ name: CONTENT_DELETE_TOPIC, partitions: PARTITIONS }]);
  const refs: string[] = [];
  for (let i = 0; i < messages; i++)
    refs.push((await store.put(Readable.from([Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n`)]))).ref);
  await bus.publish(
    CONTENT_DELETE_TOPIC,
    refs.map((ref, i) => ({ key: `m${i}`, value: new TextEncoder().encode(ref) })),
  );
  const lag = async () =>
    (await bus.consumerLag()).find((l) => l.group === CONTENT_JANITOR_GROUP)?.lag ?? Number.NaN;
  const gone = async () => {
    for (const ref of refs) {
      const err = await store.get(ref).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(err instanceof ContentNotFoundError)) return false;
    }
    return true;
  };
  return { bus, store, refs, lag, gone };
}

describe("content janitor (X5)", () => {
  it("deletes the references of many records in a few batches, then commits them", async () => {
    const { bus, store, refs, lag, gone } = await setup(60);
    const { wrapped, calls } = recording(store);
    const janitor = await startContentJanitor({ bus, store: wrapped, partitions: PARTITIONS, gatherMs: 50 });
    cleanups.push(() => janitor.close());
    await waitFor(gone, { what: "every reference deleted" });
    await waitFor(async () => (await lag()) === 0, { what: "the janitor's offsets committed" });
    expect(calls.flat().sort()).toEqual([...refs].sort());
    expect(calls.length).toBeLessThanOrEqual(PARTITIONS);
    expect(Math.max(...calls.map((c) => c.length))).toBeGreaterThan(1);
  });

  it("a batch is at most maxBatch references", async () => {
    const { bus, store, lag, gone } = await setup(25);
    const { wrapped, calls } = recording(store);
    const janitor = await startContentJanitor({ bus, store: wrapped, partitions: PARTITIONS, maxBatch: 10 });
    cleanups.push(() => janitor.close());
    await waitFor(gone, { what: "every reference deleted" });
    await waitFor(async () => (await lag()) === 0, { what: "offsets committed" });
    expect(Math.max(...calls.map((c) => c.length))).toBeLessThanOrEqual(10);
    expect(calls.length).toBeGreaterThanOrEqual(3);
  });

  it("a store that fails is tried again; nothing is committed before it deletes", async () => {
    const { bus, store, lag, gone } = await setup(12);
    let failures = 2;
    const { wrapped, calls } = recording(store, () => failures-- > 0);
    const janitor = await startContentJanitor({
      bus,
      store: wrapped,
      partitions: PARTITIONS,
      gatherMs: 20,
      retryMs: () => 200,
    });
    cleanups.push(() => janitor.close());
    await waitFor(() => calls.length >= 1, { what: "a first attempt" });
    expect(await lag()).toBe(12);
    await waitFor(gone, { what: "every reference deleted after the failures" });
    await waitFor(async () => (await lag()) === 0, { what: "offsets committed" });
    expect(calls.length).toBeGreaterThanOrEqual(3);
  });

  it("closed while its store fails, it leaves the batch to the next janitor", async () => {
    const { bus, store, lag, gone } = await setup(8);
    const { wrapped, calls } = recording(store, () => true);
    const first = await startContentJanitor({
      bus,
      store: wrapped,
      partitions: PARTITIONS,
      gatherMs: 20,
      retryMs: () => 60_000,
    });
    await waitFor(() => calls.length >= 1, { what: "a first, failing attempt" });
    await first.close(); // ends the minute-long pause at once
    expect(await gone()).toBe(false); // and uncommitted: the next janitor is handed the records again
    const second = await startContentJanitor({ bus, store, partitions: PARTITIONS, gatherMs: 20 });
    cleanups.push(() => second.close());
    await waitFor(gone, { what: "the next janitor deleting the batch" });
    await waitFor(async () => (await lag()) === 0, { what: "offsets committed" });
  });
});
