/**
 * One segment file of a partition: `<baseOffset padded to 20 digits>.log`, a sequence of frames
 * (format.ts) with strictly increasing offsets >= baseOffset. Keeps a sparse in-memory index
 * (one entry per ~INDEX_INTERVAL bytes) so a read from an offset seeks close to it, and a count
 * of readers so a segment deleted or replaced while being read keeps its file open until they end.
 */
import { type FileHandle, open } from "node:fs/promises";
import { checkFrame, decodeFrame, type StoredRecord } from "./format.ts";

export const INDEX_INTERVAL = 4096;
const CHUNK = 256 * 1024;

export interface IndexEntry {
  offset: number;
  position: number;
}

export interface ScanResult {
  /** Position after the last valid frame. */
  validEnd: number;
  /** Offset of the last valid frame, or -1 if none. */
  lastOffset: number;
  records: number;
  /** Why the scan stopped before `end`, if it did. */
  error?: string;
}

export interface Frame {
  position: number;
  buf: Buffer;
  at: number;
  size: number;
  offset: number;
  bad?: undefined;
}

export type WalkItem = Frame | { position: number; bad: string };

export class CorruptSegmentError extends Error {}

export class Segment {
  /** Readable bytes: the durable end of the active segment, the file size of a closed one. */
  size: number;
  /** Offset of the last record, -1 if none, undefined while a closed segment is not scanned. */
  lastOffset: number | undefined;
  private index: IndexEntry[] | undefined;
  private indexing: Promise<void> | undefined;
  private handle: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  private refs = 0;
  private retired = false;

  constructor(
    readonly baseOffset: number,
    readonly path: string,
    size: number,
    handle?: FileHandle,
  ) {
    this.size = size;
    this.handle = handle;
    if (size === 0) {
      this.index = [];
      this.lastOffset = -1;
    }
  }

  /** The file handle (opened read-only on first use unless one was given). */
  file(): Promise<FileHandle> {
    if (this.handle) return Promise.resolve(this.handle);
    this.opening ??= open(this.path, "r").then((h) => {
      this.handle = h;
      return h;
    });
    return this.opening;
  }

  /** Pins the file open (for a reader that will come back to it after awaiting). */
  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.retired && this.refs === 0) void this.close();
  }

  /** The segment was deleted or replaced: close its file once no reader holds it. */
  retire(): void {
    this.retired = true;
    if (this.refs === 0) void this.close();
  }

  async close(): Promise<void> {
    const h = this.handle ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    this.handle = undefined;
    this.opening = undefined;
    await h?.close().catch(() => {});
  }

  /** Records a frame appended at `position` (active segment, index always built). */
  noteAppended(offset: number, position: number): void {
    const idx = this.index;
    if (!idx) return;
    const last = idx[idx.length - 1];
    if (!last || position - last.position >= INDEX_INTERVAL) idx.push({ offset, position });
    this.lastOffset = offset;
  }

  /**
   * Walks the frames from position 0 up to `end`, reading in chunks. Yields each valid frame
   * (`buf[at, at + size)` holds it, `position` is its place in the file); stops at the end or at
   * the first invalid frame, which it yields with `bad` set and no more after it.
   */
  async *walk(end = this.size): AsyncGenerator<WalkItem> {
    const fh = await this.file();
    let pos = 0;
    let lastOffset = -1;
    let buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(end, 1)));
    let bufStart = 0;
    let bufEnd = 0;
    while (pos < end) {
      let check = checkFrame(buf, pos - bufStart, bufEnd - bufStart);
      // Refill from `pos` until the frame is whole: the first refill may only learn the frame's
      // length (its 4-byte prefix sat at the end of the last chunk), and a frame can be larger than
      // a chunk (a big actor snapshot), so one refill is not always enough.
      while (!check.ok && check.reason === "short") {
        const want = Math.min(Math.max(CHUNK, check.need), end - pos);
        if (bufStart === pos && bufEnd - bufStart >= want) break; // nothing more to read: truly short
        if (buf.length < want) buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, pos);
        bufStart = pos;
        bufEnd = pos + bytesRead;
        check = checkFrame(buf, 0, bytesRead);
        if (bytesRead < want) break; // the file ends here
      }
      if (!check.ok) {
        yield { position: pos, bad: check.reason === "short" ? "truncated record" : `bad ${check.reason}` };
        return;
      }
      if (check.offset < this.baseOffset || check.offset <= lastOffset) {
        yield { position: pos, bad: `offset ${check.offset} out of order` };
        return;
      }
      lastOffset = check.offset;
      yield { position: pos, buf, at: pos - bufStart, size: check.size, offset: check.offset };
      pos += check.size;
    }
  }

  /** Like `walk` but only valid frames; an invalid one throws CorruptSegmentError. */
  async *frames(end = this.size): AsyncGenerator<Frame> {
    for await (const item of this.walk(end)) {
      if (item.bad !== undefined) {
        throw new CorruptSegmentError(`corrupt segment ${this.path} at byte ${item.position}: ${item.bad}`);
      }
      yield item;
    }
  }

  /**
   * Scans frames from position 0 up to `end` (default: `size`), validating each one and
   * rebuilding the index. Stops at the first invalid frame and says why.
   */
  async scan(end = this.size): Promise<ScanResult> {
    const index: IndexEntry[] = [];
    let validEnd = 0;
    let lastOffset = -1;
    let records = 0;
    let error: string | undefined;
    for await (const item of this.walk(end)) {
      if (item.bad !== undefined) {
        error = item.bad;
        break;
      }
      const last = index[index.length - 1];
      if (!last || item.position - last.position >= INDEX_INTERVAL) {
        index.push({ offset: item.offset, position: item.position });
      }
      lastOffset = item.offset;
      records++;
      validEnd = item.position + item.size;
    }
    this.index = index;
    this.lastOffset = lastOffset;
    return { validEnd, lastOffset, records, ...(error ? { error } : {}) };
  }

  /** Builds the index of a closed segment on first use; a closed segment must be fully valid. */
  private ensureIndex(): Promise<void> {
    if (this.index) return Promise.resolve();
    this.indexing ??= this.scan().then((r) => {
      if (r.error || r.validEnd !== this.size) {
        this.index = undefined;
        this.indexing = undefined;
        throw new CorruptSegmentError(`corrupt segment ${this.path} at byte ${r.validEnd}: ${r.error}`);
      }
    });
    return this.indexing;
  }

  /** Position of the last indexed frame with offset <= `offset` (0 if none). */
  private seek(offset: number): number {
    const idx = this.index!;
    let lo = 0;
    let hi = idx.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = idx[mid]!;
      if (e.offset <= offset) {
        found = e.position;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /**
   * Reads records with `from <= offset < until` in offset order, about `maxBytes` of them (at
   * least one if any). `done` when the readable end of the segment (or `until`) was reached.
   * Must be called synchronously after picking the segment, or with it acquired.
   */
  async read(
    from: number,
    until: number,
    maxBytes: number,
  ): Promise<{ records: StoredRecord[]; done: boolean }> {
    this.refs++;
    try {
      await this.ensureIndex();
      const end = this.size;
      const fh = await this.file();
      const records: StoredRecord[] = [];
      let bytes = 0;
      let pos = this.seek(from);
      while (pos < end) {
        const want = Math.min(end - pos, Math.max(CHUNK, maxBytes - bytes));
        let buf = Buffer.allocUnsafe(want);
        let { bytesRead } = await fh.read(buf, 0, want, pos);
        const first = checkFrame(buf, 0, bytesRead);
        if (!first.ok && first.reason === "short" && first.need > bytesRead && first.need <= end - pos) {
          // One frame bigger than the chunk: read exactly it.
          buf = Buffer.allocUnsafe(first.need);
          ({ bytesRead } = await fh.read(buf, 0, first.need, pos));
        }
        let p = 0;
        while (p < bytesRead) {
          const check = checkFrame(buf, p, bytesRead);
          if (!check.ok && check.reason === "short" && p > 0) break;
          if (!check.ok) {
            throw new CorruptSegmentError(
              `corrupt record in ${this.path} at byte ${pos + p}: ${check.reason}`,
            );
          }
          if (check.offset >= until) return { records, done: true };
          if (check.offset >= from) {
            records.push(decodeFrame(buf, p));
            bytes += check.size;
          }
          p += check.size;
          if (bytes >= maxBytes) return { records, done: pos + p >= end };
        }
        if (p === 0) throw new CorruptSegmentError(`short read in ${this.path} at byte ${pos}`);
        pos += p;
      }
      return { records, done: true };
    } finally {
      this.release();
    }
  }
}
