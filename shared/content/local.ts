/**
 * The local content store (X1, embedded mode), in two forms chosen per message by its size:
 * - a message of up to SMALL_MAX bytes (nearly all transactional mail) is gathered in memory (once)
 *   and appended to the shared segment log (segments.ts, under `<dir>/segments/`), durable with one
 *   fdatasync per group of concurrent messages;
 * - a bigger one streams to its own file under `<dir>/<shard>/<id>-<random>` (never replacing
 *   another): into a temporary file, renamed into place, then the file and the directory fsync'd
 *   together.
 * With `cacheBytes`, a segment entry of CACHE_MIN bytes or more is also kept in memory for a while
 * (recent.ts), so that its delivery does not read it back.
 * Either way a resolved `put` survives a crash (S11), and a failed or aborted write leaves nothing
 * under any reference. Temporary files left by a crash are removed at open; a crash between the
 * rename and the fsyncs can leave a file no record names (never published).
 * Raw descriptors (shared/durable-fs.ts), not FileHandles. Incoming chunks of a big message are
 * written 256 KiB at a time (one `writev`); the shard directories are made at open.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fdClose, fdOpen, fdSync, fsyncDir, writeAll } from "../durable-fs.ts";
import { RecentContent } from "./recent.ts";
import { isSegmentRef, SegmentLog } from "./segments.ts";
import { ContentNotFoundError, type ContentStore, type StoredContent } from "./store.ts";

/** A big message's file name: `<id>-<8 hex>`. */
const REF = /^[A-Za-z0-9_-]{4,80}$/;

export class LocalContentStore implements ContentStore {
  private readonly shards = new Map<string, Promise<void>>();
  /** Bytes of the big messages' files (the segment log counts its own). */
  private fileBytes = 0;

  private constructor(
    readonly dir: string,
    private readonly segments: SegmentLog,
    private readonly recent?: RecentContent,
  ) {}

  /**
   * `segmentBytes`: size at which a new segment starts (tests make it small); `cacheBytes`: bytes
   * of recently stored segment entries of CACHE_MIN bytes or more kept in memory for their
   * deliveries (recent.ts), 0 = none.
   */
  static async open(
    dir: string,
    o: { segmentBytes?: number; cacheBytes?: number } = {},
  ): Promise<LocalContentStore> {
    await mkdir(join(dir, "tmp"), { recursive: true });
    await rm(join(dir, "tmp"), { recursive: true, force: true });
    await mkdir(join(dir, "tmp"), { recursive: true });
    // Every shard a message id can name, made (and made durable by one directory fsync) now
    // rather than one mkdir + fsync at a time on the path of the first messages.
    await Promise.all(SHARDS.map((name) => mkdir(join(dir, name), { recursive: true })));
    await fsyncDir(dir);
    const recent = o.cacheBytes ? new RecentContent(o.cacheBytes, { minBytes: CACHE_MIN }) : undefined;
    const store = new LocalContentStore(dir, await SegmentLog.open(join(dir, "segments"), o), recent);
    for (const name of SHARDS) store.shards.set(name, Promise.resolve());
    for (const name of SHARDS)
      for (const f of await readdir(join(dir, name)))
        store.fileBytes += (await stat(join(dir, name, f))).size;
    return store;
  }

  async put(
    content: Readable | AsyncIterable<Uint8Array>,
    hint?: { messageId?: string },
  ): Promise<StoredContent> {
    const id = hint?.messageId && ID.test(hint.messageId) ? hint.messageId : randomBytes(12).toString("hex");
    // Gathered in memory up to SMALL_MAX: then one segment append; past it, a file of its own.
    const source = (content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const head: Uint8Array[] = [];
    let headBytes = 0;
    for (let r = await source.next(); ; r = await source.next()) {
      if (r.done) {
        // one chunk (the joiner's usual case for a small message) is wrapped, not copied
        const one = head[0];
        const body =
          head.length === 1 && one
            ? Buffer.from(one.buffer, one.byteOffset, one.byteLength)
            : Buffer.concat(head);
        const ref = await this.segments.append(id, body);
        this.recent?.add(ref, body);
        return { ref, size: body.length };
      }
      const buf = typeof r.value === "string" ? Buffer.from(r.value) : r.value;
      head.push(buf);
      headBytes += buf.length;
      if (headBytes > SMALL_MAX) break;
    }
    // A random suffix: a second message with the same id never replaces the first one's file.
    const ref = `${id}-${randomBytes(4).toString("hex")}`;
    return this.putFile(ref, head, headBytes, { [Symbol.asyncIterator]: () => source });
  }

  /** A big message: its own file, `head` (already read) first, then the rest of `rest`. */
  private async putFile(
    ref: string,
    head: Uint8Array[],
    headBytes: number,
    rest: AsyncIterable<Uint8Array>,
  ): Promise<StoredContent> {
    const tmp = join(this.dir, "tmp", `${ref}.${randomBytes(6).toString("hex")}`);
    const fd = await fdOpen(tmp, "wx");
    let size = headBytes;
    let at = tmp;
    try {
      // Chunks (often one per line) are gathered and written WRITE_BATCH bytes at a time.
      let pending: Uint8Array[] = head;
      let pendingBytes = headBytes;
      for await (const chunk of rest) {
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
    this.fileBytes += size;
    return { ref, size };
  }

  async get(ref: string): Promise<Readable> {
    if (isSegmentRef(ref)) return Readable.from([this.recent?.get(ref) ?? (await this.segments.read(ref))]);
    if (!REF.test(ref)) throw new ContentNotFoundError(ref);
    const path = this.path(ref);
    try {
      await stat(path);
    } catch {
      throw new ContentNotFoundError(ref);
    }
    return createReadStream(path);
  }

  /** Deletes queued together share the segment log's append and fsync (segments.ts). */
  async deleteMany(refs: readonly string[]): Promise<void> {
    await Promise.all(refs.map((ref) => this.delete(ref)));
  }

  async delete(ref: string): Promise<void> {
    if (isSegmentRef(ref)) {
      this.recent?.delete(ref);
      return this.segments.delete(ref);
    }
    if (!REF.test(ref)) return;
    const path = this.path(ref);
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) return;
    try {
      await rm(path); // not `force`: of two concurrent deletes, only the one that removed it counts
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    this.fileBytes -= size;
  }

  /** Bytes on disk: the segment files (until a segment is wholly deleted) and the big files. */
  async storedBytes(): Promise<number> {
    return this.segments.bytes() + this.fileBytes;
  }

  async close(): Promise<void> {
    await this.segments.close();
  }

  /** Every stored reference (tests and maintenance). */
  async list(): Promise<string[]> {
    const out: string[] = await this.segments.list();
    for (const shard of await readdir(this.dir)) {
      if (shard === "tmp" || shard === "segments") continue;
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
/**
 * Smallest message the store keeps in memory for its delivery. Reading a 100 KiB message back
 * allocated 100 KiB of buffers per message, and those allocations are what started V8's major
 * collections on ingress (b) (BENCHMARKS.md, issue 16 session 17: majors 11–12 → 7 per run). A
 * 5 KiB read costs little, while keeping thousands of small messages alive across young-generation
 * collections made ingress (a) collect more (minor collections +5 %).
 */
const CACHE_MIN = 16 * 1024;
/** Messages up to this size go to the segment log (held in memory once until their end). */
export const SMALL_MAX = 1024 * 1024;
/** Ids usable in a segment reference (ingress's message ids are Crockford base32). */
const ID = /^[A-Za-z0-9-]{4,64}$/;

/** Message ids are Crockford base32 (ingress/ids.ts): their shards, two lower-cased characters. */
const SHARDS: string[] = (() => {
  const a = "0123456789abcdefghjkmnpqrstvwxyz";
  return [...a].flatMap((x) => [...a].map((y) => x + y));
})();

function shardOf(ref: string): string {
  return ref.slice(-2).toLowerCase();
}
