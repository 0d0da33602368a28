/** The content-store contract on the local files of the embedded mode (X1). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalContentStore } from "../../shared/content/local.ts";
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
