/**
 * The local content store (X1, embedded mode): one file per message under `<dir>/<shard>/<ref>`.
 * `put` streams into a temporary file, renames it into place, then fsyncs the file and the
 * directory together (two fsyncs in parallel rather than one after the other, on the path of every
 * `250`), so a resolved `put` survives a crash (S11); a failed or aborted write removes its file
 * and leaves nothing under any reference. Temporary files left by a crash are removed at open; a
 * crash between the rename and the fsyncs can leave a file no record names (never published).
 * Raw descriptors (shared/durable-fs.ts), not FileHandles.
 * Incoming chunks are written 256 KiB at a time (one `writev`), and the shard directories of
 * message ids are made at open, so a small message costs one write, not one per chunk.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fdClose, fdOpen, fdSync, fsyncDir, writeAll } from "../durable-fs.ts";
import { ContentNotFoundError, type ContentStore, type StoredContent } from "./store.ts";

const REF = /^[A-Za-z0-9_-]{4,64}$/;

export class LocalContentStore implements ContentStore {
  private readonly shards = new Map<string, Promise<void>>();

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<LocalContentStore> {
    await mkdir(join(dir, "tmp"), { recursive: true });
    await rm(join(dir, "tmp"), { recursive: true, force: true });
    await mkdir(join(dir, "tmp"), { recursive: true });
    // Every shard a message id can name, made (and made durable by one directory fsync) now
    // rather than one mkdir + fsync at a time on the path of the first messages.
    await Promise.all(SHARDS.map((name) => mkdir(join(dir, name), { recursive: true })));
    await fsyncDir(dir);
    const store = new LocalContentStore(dir);
    for (const name of SHARDS) store.shards.set(name, Promise.resolve());
    return store;
  }

  async put(
    content: Readable | AsyncIterable<Uint8Array>,
    hint?: { messageId?: string },
  ): Promise<StoredContent> {
    const ref =
      hint?.messageId && REF.test(hint.messageId) ? hint.messageId : randomBytes(12).toString("hex");
    const tmp = join(this.dir, "tmp", `${ref}.${randomBytes(6).toString("hex")}`);
    const fd = await fdOpen(tmp, "wx");
    let size = 0;
    let at = tmp;
    try {
      // Chunks (often one per line) are gathered and written WRITE_BATCH bytes at a time.
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      for await (const chunk of content as AsyncIterable<Uint8Array>) {
        const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        pending.push(buf);
        pendingBytes += buf.length;
        size += buf.length;
        if (pendingBytes >= WRITE_BATCH) {
          await writeAll(fd, pending);
          pending = [];
          pendingBytes = 0;
        }
      }
      await writeAll(fd, pending);
      const shardDir = await this.shard(ref);
      const final = join(shardDir, ref);
      await rename(tmp, final);
      at = final;
      await Promise.all([fdSync(fd), fsyncDir(shardDir)]);
    } catch (e) {
      await fdClose(fd).catch(() => undefined);
      await rm(at, { force: true });
      throw e;
    }
    await fdClose(fd);
    return { ref, size };
  }

  async get(ref: string): Promise<Readable> {
    if (!REF.test(ref)) throw new ContentNotFoundError(ref);
    const path = this.path(ref);
    try {
      await stat(path);
    } catch {
      throw new ContentNotFoundError(ref);
    }
    return createReadStream(path);
  }

  async delete(ref: string): Promise<void> {
    if (!REF.test(ref)) return;
    await rm(this.path(ref), { force: true });
  }

  /** Every stored reference (tests and maintenance). */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const shard of await readdir(this.dir)) {
      if (shard === "tmp") continue;
      for (const f of await readdir(join(this.dir, shard))) out.push(f);
    }
    return out;
  }

  private path(ref: string): string {
    return join(this.dir, shardOf(ref), ref);
  }

  private shard(ref: string): Promise<string> {
    const name = shardOf(ref);
    const dir = join(this.dir, name);
    let made = this.shards.get(name);
    if (!made) {
      made = mkdir(dir, { recursive: true }).then(() => fsyncDir(this.dir));
      made.catch(() => this.shards.delete(name));
      this.shards.set(name, made);
    }
    return made.then(() => dir);
  }
}

const WRITE_BATCH = 256 * 1024;

/** Message ids are Crockford base32 (ingress/ids.ts): their shards, two lower-cased characters. */
const SHARDS: string[] = (() => {
  const a = "0123456789abcdefghjkmnpqrstvwxyz";
  return [...a].flatMap((x) => [...a].map((y) => x + y));
})();

function shardOf(ref: string): string {
  return ref.slice(-2).toLowerCase();
}
