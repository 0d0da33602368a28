/**
 * The content-store contract on the local files of the embedded mode (X1), with and without the
 * memory of recently stored messages; that memory serves only messages of 16 KiB or more, and a
 * delete drops it.
 */
import { mkdtemp, readdir, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { expect, it } from "vitest";
import { loadConfig } from "../../shared/config/load.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { openContentStore } from "../../shared/content/open.ts";
import { contentContract } from "./store.case.ts";

/** A store in a fresh directory, removed at cleanup. */
async function fresh(o: { cacheBytes?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "petrel-content-"));
  const store = await LocalContentStore.open(dir, o);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

contentContract("local files", () => fresh());
contentContract("local files, recent messages kept in memory", () => fresh({ cacheBytes: 8 * 1024 * 1024 }));

it("delivers a message of 16 KiB or more from memory, a smaller one from disk, and forgets a deleted one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "petrel-content-"));
  const store = await LocalContentStore.open(dir, { cacheBytes: 8 * 1024 * 1024 });
  const big = Buffer.alloc(20 * 1024, 0x62);
  const small = Buffer.alloc(5 * 1024, 0x73);
  const b = await store.put(Readable.from([big]), { messageId: "01JLOCALBIG0001" });
  const s = await store.put(Readable.from([small]), { messageId: "01JLOCALSMALL01" });
  // The segment file loses its bytes: only what the store holds in memory can still be read.
  for (const f of await readdir(join(dir, "segments")))
    if (f.endsWith(".seg")) await truncate(join(dir, "segments", f), 0);
  const read = async (ref: string) => {
    const parts: Buffer[] = [];
    for await (const c of await store.get(ref)) parts.push(c as Buffer);
    return Buffer.concat(parts);
  };
  expect((await read(b.ref)).equals(big)).toBe(true);
  await expect(read(s.ref)).rejects.toThrow(/no stored content/);
  await store.delete(b.ref);
  await expect(read(b.ref)).rejects.toThrow(/no stored content/);
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

it("openContentStore picks the local files under <dataDir>/content when no bucket is set", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "petrel-data-"));
  const store = await openContentStore(loadConfig({}), dataDir);
  expect(store).toBeInstanceOf(LocalContentStore);
  expect((store as LocalContentStore).dir).toBe(join(dataDir, "content"));
  const p = await store.put(Readable.from([Buffer.from("local")]), { messageId: "01JLOCALOPEN001" });
  expect(await (store as LocalContentStore).list()).toEqual([p.ref]);
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});
