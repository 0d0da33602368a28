/**
 * Guards a log directory against two LogBus instances at once: an in-process registry plus a
 * `LOCK` file holding the owner's pid. A lock left by a dead process (crash, SIGKILL) is taken
 * over; one held by a live other process makes `open()` fail.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { atomicWriteFile, isNotFound, unlinkIfExists } from "./fsutil.ts";

const openDirs = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const abs = resolve(dir);
  if (openDirs.has(abs)) throw new Error(`log directory ${abs} is already open in this process`);
  openDirs.add(abs);
  const path = join(abs, "LOCK");
  try {
    let holder: number | undefined;
    try {
      holder = Number.parseInt(await readFile(path, "utf8"), 10);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (holder !== undefined && Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
      throw new Error(
        `log directory ${abs} is locked by running process ${holder} (remove ${path} if it is not a Petrel)`,
      );
    }
    await atomicWriteFile(path, String(process.pid));
  } catch (e) {
    openDirs.delete(abs);
    throw e;
  }
  return async () => {
    await unlinkIfExists(path);
    openDirs.delete(abs);
  };
}
