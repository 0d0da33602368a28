/** Small durable-file helpers shared by the log's metadata, offsets and segments. */
import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";

/** fsyncs a directory so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `path` with `data` atomically: writes `path.tmp`, fsyncs it, renames it over `path`,
 * fsyncs the directory. A crash leaves either the old or the new content, never a mix.
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array, fsync = true): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  if (fsync) await fsyncDir(dirname(path));
}

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
