/**
 * The local content store (X1, embedded mode): one file per message under `<dir>/<shard>/<ref>`.
 * `put` streams into a temporary file, fsyncs it, renames it into place and fsyncs the directory,
 * so a resolved `put` survives a crash (S11); a failed or aborted write removes its temporary file
 * and leaves nothing under any reference. Temporary files left by a crash are removed at open.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { ContentNotFoundError, type ContentStore, type StoredContent } from "./store.ts";

const REF = /^[A-Za-z0-9_-]{4,64}$/;

export class LocalContentStore implements ContentStore {
  private readonly shards = new Map<string, Promise<void>>();

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<LocalContentStore> {
    await mkdir(join(dir, "tmp"), { recursive: true });
    await rm(join(dir, "tmp"), { recursive: true, force: true });
    await mkdir(join(dir, "tmp"), { recursive: true });
    await fsyncDir(dir);
    return new LocalContentStore(dir);
  }

  async put(
    content: Readable | AsyncIterable<Uint8Array>,
    hint?: { messageId?: string },
  ): Promise<StoredContent> {
    const ref =
      hint?.messageId && REF.test(hint.messageId) ? hint.messageId : randomBytes(12).toString("hex");
    const tmp = join(this.dir, "tmp", `${ref}.${randomBytes(6).toString("hex")}`);
    const fh = await open(tmp, "wx");
    let size = 0;
    try {
      for await (const chunk of content as AsyncIterable<Uint8Array>) {
        const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await fh.write(buf, off, buf.length - off);
          off += bytesWritten;
        }
        size += buf.length;
      }
      await fh.sync();
      await fh.close();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    }
    const shardDir = await this.shard(ref);
    try {
      await rename(tmp, join(shardDir, ref));
      await fsyncDir(shardDir);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
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

function shardOf(ref: string): string {
  return ref.slice(-2).toLowerCase();
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
