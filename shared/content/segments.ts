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
 * Deleted references (only content that no record names: a publish that failed) are kept in
 * `deleted` (one line each, fsync'd), honoured by `get` and `list`; the space comes back when a
 * whole segment is dropped (not done yet: content is kept, as with the per-file store).
 * Written by hand: no maintained npm package offers a group-committed append-only blob log; the
 * bus's log (shared/bus/log/) is record-oriented and keyed by partition, not by blob.
 */
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fdClose, fdDatasync, fdOpen, fdReadFull, fdSync, fsyncDir, writeAll } from "../durable-fs.ts";
import { ContentNotFoundError } from "./store.ts";

const MAGIC = Buffer.from("PTC1");
/** A new segment is started once the active one holds this much. */
export const SEGMENT_BYTES = 64 * 1024 * 1024;
/** Entries of one group commit at most (writev takes at most 1,024 buffers: two per entry). */
const MAX_BATCH = 256;
/** Largest entry a segment takes (the store sends only messages of ≤ 1 MiB here). */
const MAX_ENTRY = 16 * 1024 * 1024;
const SEG_REF = /^([A-Za-z0-9-]{1,64})_([0-9a-z]{1,8})_([0-9a-z]{1,10})_([0-9a-z]{1,8})$/;

const READ_FDS = 16;

interface ReadFd {
  fd: number;
  /** Readers using the descriptor now: it is closed only when none is. */
  users: number;
  opening: Promise<number> | undefined;
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

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
  ) {}

  static async open(dir: string, o: { segmentBytes?: number } = {}): Promise<SegmentLog> {
    await mkdir(dir, { recursive: true });
    const log = new SegmentLog(dir, o.segmentBytes ?? SEGMENT_BYTES);
    const names = await readdir(dir);
    log.seg = names.reduce((n, f) => Math.max(n, Number(/^(\d+)\.seg$/.exec(f)?.[1] ?? 0)), 0);
    const del = await readFile(join(dir, "deleted"), "utf8").catch(() => "");
    for (const line of del.split("\n")) if (line) log.deleted.add(line);
    await log.roll();
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
      const n = await fdReadFull(fd, buf, offset);
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
      r.users--;
      this.trimReadFds();
    }
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
    this.readFds.delete(seg); // most recently used last
    this.readFds.set(seg, r);
    r.users++;
    return r;
  }

  private trimReadFds(): void {
    for (const [seg, r] of this.readFds) {
      if (this.readFds.size <= READ_FDS) return;
      if (r.users > 0 || r.opening) continue;
      this.readFds.delete(seg);
      void fdClose(r.fd).catch(() => undefined);
    }
  }

  async delete(ref: string): Promise<void> {
    if (!SEG_REF.test(ref) || this.deleted.has(ref)) return;
    this.deleted.add(ref);
    const fd = await fdOpen(join(this.dir, "deleted"), "a");
    try {
      await writeAll(fd, [Buffer.from(`${ref}\n`)]);
      await fdSync(fd);
    } finally {
      await fdClose(fd);
    }
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
    while (this.flushing) await new Promise((r) => setImmediate(r));
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
    this.seg++;
    this.size = 0;
    this.fd = await fdOpen(this.path(this.seg), "wx");
    await fsyncDir(this.dir);
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
          await writeAll(this.fd, bufs);
          await fdDatasync(this.fd);
          this.size = at;
          for (const [i, p] of batch.entries()) p.resolve(refs[i] as string);
        } catch (e) {
          // The segment may now end in a partial batch: later entries go to a fresh one.
          await fdClose(this.fd).catch(() => undefined);
          this.fd = -1;
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

function refOf(id: string, seg: number, offset: number, length: number): string {
  return `${id}_${seg.toString(36)}_${offset.toString(36)}_${length.toString(36)}`;
}
