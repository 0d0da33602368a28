/**
 * Content segments (X1, embedded mode): small messages are appended to a shared segment file and
 * made durable by one fdatasync per batch — a group commit — instead of a file, a rename and two
 * fsyncs each. With 20 sessions the per-message file path cost about 1 CPU-ms per 5 KiB message
 * (BENCHMARKS.md, issue 4): eight thread-pool calls (open, writev, rename, fsync, open dir, fsync
 * dir, close dir, close) and two journal commits for every `250`.
 *
 * Layout: `<dir>/<n>.seg`, n counting up; a process only ever appends to a segment it created
 * itself (a segment left by a crash may end in a torn entry, so it is never appended to again).
 * An entry is `PTC1` | u16 id length | id | u32 body length | body. The reference names where the
 * entry is (`<id>_<segment>_<offset>_<length>`, base 36), so a read needs no index; the entry's
 * id is checked on read. A reference is handed out only once its bytes are fdatasync'd: a torn or
 * unsynced tail is never named by any record (nothing half-written is visible).
 * Deleted references (X5: content whose every recipient is final, or that no record names) are
 * kept in `deleted` (one line each, fsync'd once per group of concurrent deletes), honoured by
 * `get` and `list`. Once every entry of a segment other than the active one is deleted, the
 * segment file is removed and its lines leave `deleted` (rewritten atomically): the space comes
 * back a whole segment at a time. A delete must name an entry that is there (its header is read
 * first), so a forged reference can never make a live segment look empty. The active segment is
 * never removed, so segment numbers only grow, across restarts too.
 * Written by hand: no maintained npm package offers a group-committed append-only blob log; the
 * bus's log (shared/bus/log/) is record-oriented and keyed by partition, not by blob.
 */
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  atomicWriteFile,
  DSYNC_OPEN,
  fdClose,
  fdDatasync,
  fdFtruncate,
  fdOpen,
  fdReadFull,
  fdReadFullSync,
  fdSize,
  fdSync,
  fsyncDir,
  writeAll,
  writeFlags,
} from "../durable-fs.ts";
import { ContentNotFoundError } from "./store.ts";

const MAGIC = Buffer.from("PTC1");
/** A new segment is started once the active one holds this much. */
export const SEGMENT_BYTES = 64 * 1024 * 1024;
/** Entries of one group commit at most (writev takes at most 1,024 buffers: two per entry). */
const MAX_BATCH = 256;
/** Largest entry a segment takes (the store sends only messages of ≤ 1 MiB here). */
const MAX_ENTRY = 16 * 1024 * 1024;
const SEG_REF = /^([A-Za-z0-9-]{1,64})_([0-9a-z]{1,8})_([0-9a-z]{1,10})_([0-9a-z]{1,8})$/;
/** Longest entry header: magic, id length, a 64-character id, body length. */
const MAX_HEADER = MAGIC.length + 2 + 64 + 4;

const READ_FDS = 16;

interface ReadFd {
  fd: number;
  /** Readers using the descriptor now: it is closed only when none is. */
  users: number;
  opening: Promise<number> | undefined;
  /** Its segment was removed: closed by the last reader. */
  dropped?: boolean;
}

interface PendingDelete {
  ref: string;
  resolve(): void;
  reject(e: unknown): void;
}

interface Pending {
  header: Buffer;
  body: Buffer;
  id: string;
  resolve(ref: string): void;
  reject(e: unknown): void;
}

export const isSegmentRef = (ref: string) => SEG_REF.test(ref);

export class SegmentLog {
  private queue: Pending[] = [];
  private flushing = false;
  private fd = -1;
  private seg = 0;
  private size = 0;
  private readonly deleted = new Set<string>();
  private readonly readFds = new Map<number, ReadFd>();
  /** Bytes on disk of each segment file there is. */
  private readonly segBytes = new Map<number, number>();
  /** Bytes of the deleted entries of each segment (headers included). */
  private readonly deadBytes = new Map<number, number>();
  /** End of the last complete entry of a segment no longer appended to (found on first need). */
  private readonly validEnd = new Map<number, number>();
  /** The active segment was made by this process (so its end is known when it is rolled). */
  private ownActive = false;
  /**
   * The last segments this process wrote (the active one and the one before): their bytes are in
   * the page cache, so reading them back (delivery, delete checks) is a copy on this thread.
   */
  private readonly hot = new Set<number>();
  private delQueue: PendingDelete[] = [];
  /** Segments to look at for removal (a segment just rolled may already be all deleted). */
  private readonly dropChecks = new Set<number>();
  private deleting = false;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
  ) {}

  static async open(dir: string, o: { segmentBytes?: number } = {}): Promise<SegmentLog> {
    await mkdir(dir, { recursive: true });
    const log = new SegmentLog(dir, o.segmentBytes ?? SEGMENT_BYTES);
    for (const f of await readdir(dir)) {
      const n = /^(\d+)\.seg$/.exec(f)?.[1];
      if (n) log.segBytes.set(Number(n), (await stat(join(dir, f))).size);
    }
    log.seg = Math.max(0, ...log.segBytes.keys());
    const del = await readFile(join(dir, "deleted"), "utf8").catch(() => "");
    let stale = false;
    for (const line of del.split("\n")) {
      const seg = segOf(line);
      if (seg === undefined) continue;
      if (!log.segBytes.has(seg))
        stale = true; // its segment was removed before the rewrite
      else log.markDeleted(line, seg);
    }
    await log.roll();
    // Segments left empty (an open without appends), or all deleted before a restart.
    for (const [seg, size] of log.segBytes)
      if (seg !== log.seg && (size === 0 || log.deadBytes.has(seg)))
        stale = (await log.maybeDrop(seg)) || stale;
    if (stale) await log.rewriteDeleted();
    return log;
  }

  /** Appends one entry; resolves with its reference once it is durable. */
  append(id: string, body: Buffer): Promise<string> {
    if (body.length > MAX_ENTRY)
      return Promise.reject(new RangeError(`segment entry over ${MAX_ENTRY} bytes`));
    const idBuf = Buffer.from(id, "latin1");
    const header = Buffer.allocUnsafe(MAGIC.length + 2 + idBuf.length + 4);
    MAGIC.copy(header, 0);
    header.writeUInt16BE(idBuf.length, 4);
    idBuf.copy(header, 6);
    header.writeUInt32BE(body.length, 6 + idBuf.length);
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ header, body, id, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  async read(ref: string): Promise<Buffer> {
    const m = SEG_REF.exec(ref);
    if (!m || this.deleted.has(ref)) throw new ContentNotFoundError(ref);
    const [, id, seg, off, len] = m as unknown as [string, string, string, string, string];
    const offset = Number.parseInt(off, 36);
    const length = Number.parseInt(len, 36);
    if (length > MAX_ENTRY) throw new ContentNotFoundError(ref);
    const headerLen = MAGIC.length + 2 + Buffer.byteLength(id, "latin1") + 4;
    const segNo = Number.parseInt(seg, 36);
    let r: ReadFd;
    try {
      r = await this.readFd(segNo);
    } catch {
      throw new ContentNotFoundError(ref);
    }
    const fd = r.fd;
    try {
      const buf = Buffer.allocUnsafe(headerLen + length);
      const n = await this.readAt(segNo, fd, buf, offset);
      if (
        n !== buf.length ||
        !buf.subarray(0, 4).equals(MAGIC) ||
        buf.readUInt16BE(4) !== headerLen - 10 ||
        buf.toString("latin1", 6, headerLen - 4) !== id ||
        buf.readUInt32BE(headerLen - 4) !== length
      )
        throw new ContentNotFoundError(ref);
      return buf.subarray(headerLen);
    } finally {
      this.release(r);
    }
  }

  /** Reads `buf.length` bytes of segment `seg` at `offset`: on this thread when the segment is hot. */
  private readAt(seg: number, fd: number, buf: Buffer, offset: number): number | Promise<number> {
    return this.hot.has(seg) ? fdReadFullSync(fd, buf, offset) : fdReadFull(fd, buf, offset);
  }

  /** Read descriptors stay open (up to READ_FDS segments): delivery reads every message once. */
  private async readFd(seg: number): Promise<ReadFd> {
    let r = this.readFds.get(seg);
    if (!r) {
      const opening = fdOpen(this.path(seg), "r");
      r = { fd: -1, users: 0, opening };
      this.readFds.set(seg, r);
      try {
        r.fd = await opening;
      } catch (e) {
        this.readFds.delete(seg);
        throw e;
      }
      r.opening = undefined;
    } else if (r.opening) await r.opening;
    if (!r.dropped) {
      this.readFds.delete(seg); // most recently used last
      this.readFds.set(seg, r);
    }
    r.users++;
    return r;
  }

  private release(r: ReadFd): void {
    r.users--;
    if (r.dropped && r.users === 0) void fdClose(r.fd).catch(() => undefined);
    this.trimReadFds();
  }

  private trimReadFds(): void {
    for (const [seg, r] of this.readFds) {
      if (this.readFds.size <= READ_FDS) return;
      if (r.users > 0 || r.opening) continue;
      this.readFds.delete(seg);
      void fdClose(r.fd).catch(() => undefined);
    }
  }

  /** Marks an entry deleted, durably; the last one of a segment removes the segment. */
  delete(ref: string): Promise<void> {
    if (!SEG_REF.test(ref) || this.deleted.has(ref)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.delQueue.push({ ref, resolve, reject });
      if (!this.deleting) void this.flushDeletes();
    });
  }

  /** Bytes of the segment files (deleted entries included until their segment is removed). */
  bytes(): number {
    let n = 0;
    for (const b of this.segBytes.values()) n += b;
    return n;
  }

  /** Deletes queued while one group is made durable go together: one append, one fsync. */
  private async flushDeletes(): Promise<void> {
    this.deleting = true;
    try {
      while (this.delQueue.length > 0 || this.dropChecks.size > 0) {
        const batch = this.delQueue.splice(0);
        try {
          const refs = [...new Set(batch.map((d) => d.ref))].filter((r) => !this.deleted.has(r));
          const real = (
            await Promise.all(refs.map(async (r) => ((await this.isEntry(r)) ? r : undefined)))
          ).filter((r): r is string => r !== undefined);
          if (real.length > 0) {
            const fd = await fdOpen(join(this.dir, "deleted"), "a");
            const end = await fdSize(fd);
            try {
              await writeAll(fd, [Buffer.from(`${real.join("\n")}\n`)]);
              await fdSync(fd);
            } catch (e) {
              // a torn last line could read as another (shorter) reference: cut it off
              await fdFtruncate(fd, end).catch(() => undefined);
              throw e;
            } finally {
              await fdClose(fd);
            }
          }
          for (const r of real) {
            const seg = segOf(r) as number;
            this.markDeleted(r, seg);
            this.dropChecks.add(seg);
          }
          let removed = false;
          for (const seg of [...this.dropChecks]) {
            this.dropChecks.delete(seg);
            removed = (await this.maybeDrop(seg)) || removed;
          }
          if (removed) await this.rewriteDeleted();
          for (const d of batch) d.resolve();
        } catch (e) {
          for (const d of batch) d.reject(e);
        }
      }
    } finally {
      this.deleting = false;
    }
  }

  private markDeleted(ref: string, seg: number): void {
    this.deleted.add(ref);
    this.deadBytes.set(seg, (this.deadBytes.get(seg) ?? 0) + entryBytes(ref));
  }

  /** True when `ref` names a complete, durable entry: its header is there and matches. */
  private async isEntry(ref: string): Promise<boolean> {
    const m = SEG_REF.exec(ref) as unknown as [string, string, string, string, string];
    const [, id, seg, off, len] = m;
    const segNo = Number.parseInt(seg, 36);
    const offset = Number.parseInt(off, 36);
    const length = Number.parseInt(len, 36);
    const end = offset + entryBytes(ref);
    const durableEnd = segNo === this.seg ? this.size : this.segBytes.get(segNo);
    if (durableEnd === undefined || end > durableEnd || length > MAX_ENTRY) return false;
    const header = Buffer.allocUnsafe(MAGIC.length + 2 + Buffer.byteLength(id, "latin1") + 4);
    let r: ReadFd;
    try {
      r = await this.readFd(segNo);
    } catch {
      return false;
    }
    try {
      const n = await this.readAt(segNo, r.fd, header, offset);
      return n === header.length && headerMatches(header, id, length);
    } finally {
      this.release(r);
    }
  }

  /** Removes segment `seg` if it is not the active one and every entry of it is deleted. */
  private async maybeDrop(seg: number): Promise<boolean> {
    if (seg === this.seg || !this.segBytes.has(seg)) return false;
    if ((this.deadBytes.get(seg) ?? 0) < (await this.validEndOf(seg))) return false;
    const r = this.readFds.get(seg);
    if (r) {
      this.readFds.delete(seg);
      if (r.users === 0 && !r.opening) await fdClose(r.fd).catch(() => undefined);
      else r.dropped = true;
    }
    await rm(this.path(seg), { force: true });
    await fsyncDir(this.dir);
    this.segBytes.delete(seg);
    this.deadBytes.delete(seg);
    this.validEnd.delete(seg);
    for (const ref of this.deleted) if (segOf(ref) === seg) this.deleted.delete(ref);
    return true;
  }

  /** `deleted` without the lines of removed segments. */
  private async rewriteDeleted(): Promise<void> {
    const lines = [...this.deleted].join("\n");
    await atomicWriteFile(join(this.dir, "deleted"), lines ? `${lines}\n` : "");
  }

  /** Where the complete entries of a closed segment end: a crash may have left a torn tail. */
  private async validEndOf(seg: number): Promise<number> {
    const known = this.validEnd.get(seg);
    if (known !== undefined) return known;
    const size = this.segBytes.get(seg) ?? 0;
    let at = 0;
    if (size > 0) {
      const fd = await fdOpen(this.path(seg), "r");
      try {
        const buf = Buffer.allocUnsafe(1024 * 1024);
        let bufAt = 0;
        let bufLen = 0;
        while (at + 10 <= size) {
          if (at < bufAt || at + MAX_HEADER > bufAt + bufLen) {
            bufAt = at;
            bufLen = await fdReadFull(fd, buf, at);
          }
          const o = at - bufAt;
          if (bufLen - o < 10 || !buf.subarray(o, o + 4).equals(MAGIC)) break;
          const idLen = buf.readUInt16BE(o + 4);
          if (idLen > 64 || o + 10 + idLen > bufLen) break;
          const end = at + 10 + idLen + buf.readUInt32BE(o + 6 + idLen);
          if (end > size) break; // torn tail
          at = end;
        }
      } finally {
        await fdClose(fd);
      }
    }
    this.validEnd.set(seg, at);
    return at;
  }

  /** The references of every complete, undeleted entry (tests and maintenance). */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const f of (await readdir(this.dir)).sort()) {
      const seg = /^(\d+)\.seg$/.exec(f)?.[1];
      if (!seg) continue;
      const data = await readFile(join(this.dir, f));
      for (let at = 0; at + 10 <= data.length && data.subarray(at, at + 4).equals(MAGIC); ) {
        const idLen = data.readUInt16BE(at + 4);
        if (at + 10 + idLen > data.length) break;
        const id = data.toString("latin1", at + 6, at + 6 + idLen);
        const len = data.readUInt32BE(at + 6 + idLen);
        const end = at + 10 + idLen + len;
        if (end > data.length) break; // torn tail
        const ref = refOf(id, Number(seg), at, len);
        if (!this.deleted.has(ref)) out.push(ref);
        at = end;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    while (this.flushing || this.deleting) await new Promise((r) => setImmediate(r));
    if (this.fd >= 0) await fdClose(this.fd);
    this.fd = -1;
    for (const r of this.readFds.values()) if (r.fd >= 0) await fdClose(r.fd).catch(() => undefined);
    this.readFds.clear();
  }

  private path(seg: number): string {
    return join(this.dir, `${seg}.seg`);
  }

  /** Starts the next segment (its directory entry made durable before any entry is acked). */
  private async roll(): Promise<void> {
    if (this.fd >= 0) await fdClose(this.fd).catch(() => undefined);
    this.fd = -1;
    const prev = this.seg;
    const prevOwn = this.ownActive; // at open, `prev` is an old segment: open itself looks at those
    if (prevOwn) {
      // its complete entries end here (a failed batch may have left bytes after)
      this.validEnd.set(prev, this.size);
      this.segBytes.set(
        prev,
        await stat(this.path(prev)).then(
          (s) => s.size,
          () => this.size,
        ),
      );
    }
    this.seg++;
    this.size = 0;
    // O_DSYNC (durable-fs.ts DSYNC_OPEN): a batch's write is durable when it returns.
    this.fd = await fdOpen(this.path(this.seg), writeFlags({ create: true, dsync: DSYNC_OPEN }));
    this.segBytes.set(this.seg, 0);
    this.ownActive = true;
    this.hot.add(this.seg);
    if (this.hot.size > 2) this.hot.delete(this.hot.values().next().value as number);
    await fsyncDir(this.dir);
    if (prevOwn && this.deadBytes.has(prev)) {
      // every entry of the segment just closed may be deleted already
      this.dropChecks.add(prev);
      if (!this.deleting) void this.flushDeletes();
    }
  }

  /**
   * After a failed write or fdatasync (ENOSPC, EIO): the active segment is cut back to its last
   * complete entry and made durable, so no torn entry stays on disk and the space comes back. If
   * that fails too, the segment is left (its torn tail is never named by a reference, and
   * `validEndOf` stops before it) and later entries go to a fresh one.
   */
  private async cutBack(): Promise<void> {
    try {
      await fdFtruncate(this.fd, this.size);
      await fdDatasync(this.fd);
    } catch {
      await fdClose(this.fd).catch(() => undefined);
      this.fd = -1;
    }
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          if (this.fd < 0 || this.size >= this.segmentBytes) await this.roll();
          const refs: string[] = [];
          const bufs: Buffer[] = [];
          let at = this.size;
          for (const p of batch) {
            refs.push(refOf(p.id, this.seg, at, p.body.length));
            bufs.push(p.header, p.body);
            at += p.header.length + p.body.length;
          }
          await writeAll(this.fd, bufs, this.size);
          if (!DSYNC_OPEN) await fdDatasync(this.fd);
          this.size = at;
          this.segBytes.set(this.seg, at);
          for (const [i, p] of batch.entries()) p.resolve(refs[i] as string);
        } catch (e) {
          // Cut back first, then refuse: whoever is told of the failure finds the segment at its
          // durable end (refusing first let a caller see the torn tail: tests/disk/enospc.test.ts).
          await this.cutBack();
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

/** The segment a reference names, or undefined for what is not a segment reference. */
function segOf(ref: string): number | undefined {
  const m = SEG_REF.exec(ref);
  return m ? Number.parseInt(m[2] as string, 36) : undefined;
}

/** Bytes of the entry a (well-formed) reference names: header and body. */
function entryBytes(ref: string): number {
  const [, id, , , len] = SEG_REF.exec(ref) as unknown as [string, string, string, string, string];
  return MAGIC.length + 2 + Buffer.byteLength(id, "latin1") + 4 + Number.parseInt(len, 36);
}

function headerMatches(h: Buffer, id: string, length: number): boolean {
  const idLen = Buffer.byteLength(id, "latin1");
  return (
    h.subarray(0, 4).equals(MAGIC) &&
    h.readUInt16BE(4) === idLen &&
    h.toString("latin1", 6, 6 + idLen) === id &&
    h.readUInt32BE(6 + idLen) === length
  );
}

function refOf(id: string, seg: number, offset: number, length: number): string {
  return `${id}_${seg.toString(36)}_${offset.toString(36)}_${length.toString(36)}`;
}
