/** Small durable-file helpers shared by the log's metadata, offsets and segments. */
import { unlink } from "node:fs/promises";

export {
  atomicWriteFile,
  DSYNC_OPEN,
  fsyncDir,
  writeAll,
  writeAllSync,
  writeFlags,
} from "../../durable-fs.ts";

export async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
