/** The content-store contract on the local files of the embedded mode (X1). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { expect, it } from "vitest";
import { loadConfig } from "../../shared/config/load.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { openContentStore } from "../../shared/content/open.ts";
import { contentContract } from "./store.case.ts";

contentContract("local files", async () => {
  const dir = await mkdtemp(join(tmpdir(), "petrel-content-"));
  const store = await LocalContentStore.open(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
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
