/**
 * Durable file writes on raw descriptors (node:fs callbacks), shared by the content store and the
 * embedded log. Not FileHandles: a FileHandle per message (open + close tracking) cost 6-9 % of
 * the event loop in the ingress profile; a descriptor costs a number.
 */
import * as fs from "node:fs";
import { rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

export const fdOpen = (path: string, flags: string | number, mode = 0o600) =>
  new Promise<number>((resolve, reject) =>
    fs.open(path, flags, mode, (e, fd) => (e ? reject(e) : resolve(fd))),
  );

/**
 * Whether files for appends can be opened O_DSYNC here: every write is then durable when it
 * returns (the write and its fdatasync in one system call), one thread-pool round trip — a wake-up
 * and a context switch on a busy 2-core machine — less per batch than write + fdatasync; on ingress
 * (a) +8-10 % accepted msg/s (BENCHMARKS.md). Node on Linux and macOS; not under Deno, whose
 * node:fs maps numeric open flags to its own options (O_DSYNC would be dropped there silently), so
 * Deno keeps write + fdatasync.
 */
export const DSYNC_OPEN: boolean =
  typeof (process.versions as Record<string, string | undefined>).deno !== "string" &&
  typeof fs.constants.O_DSYNC === "number" &&
  (process.platform === "linux" || process.platform === "darwin");

/**
 * Open flags of an append target: read + write, `create` new (fails if it exists) or existing,
 * O_DSYNC when `dsync` (callers pass `fsync && DSYNC_OPEN` and skip their fdatasync then).
 */
export function writeFlags(o: { create: boolean; dsync: boolean }): number {
  const c = fs.constants;
  return c.O_RDWR | (o.create ? c.O_CREAT | c.O_EXCL : 0) | (o.dsync ? c.O_DSYNC : 0);
}

export const fdSync = (fd: number) =>
  new Promise<void>((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve())));

/** fdatasync: the data and the size, not the other metadata (one journal commit less when only appended). */
export const fdDatasync = (fd: number) =>
  new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));

/** Reads `buf.length` bytes at `position` (fewer only at the end of the file); returns how many. */
export async function fdReadFull(fd: number, buf: Buffer, position: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const n = await new Promise<number>((resolve, reject) =>
      fs.read(fd, buf, got, buf.length - got, position + got, (e, r) => (e ? reject(e) : resolve(r))),
    );
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * `fdReadFull` on this thread, for bytes this process just wrote (in the page cache, no disk wait):
 * a thread-pool hand-off cost the event loop more than the copy (~70 µs against a few, measured
 * under load), for every message delivery reads back.
 */
export function fdReadFullSync(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

export const fdSize = (fd: number) =>
  new Promise<number>((resolve, reject) => fs.fstat(fd, (e, st) => (e ? reject(e) : resolve(st.size))));

/** Cuts the file to `length` bytes (a failed append's partial bytes go). */
export const fdFtruncate = (fd: number, length: number) =>
  new Promise<void>((resolve, reject) => fs.ftruncate(fd, length, (e) => (e ? reject(e) : resolve())));

export const fdClose = (fd: number) =>
  new Promise<void>((resolve, reject) => fs.close(fd, (e) => (e ? reject(e) : resolve())));

const fdWritev = (fd: number, bufs: readonly Uint8Array[], position: number | null) =>
  new Promise<number>((resolve, reject) =>
    fs.writev(fd, bufs as NodeJS.ArrayBufferView[], position, (e, n) => (e ? reject(e) : resolve(n))),
  );

const fdWrite = (fd: number, buf: Uint8Array, off: number, len: number, position: number | null) =>
  new Promise<number>((resolve, reject) =>
    fs.write(fd, buf, off, len, position, (e, n) => (e ? reject(e) : resolve(n))),
  );

/**
 * Writes every buffer, in order: one writev, more only if it was short. At the file's position, or
 * at `position` when given (an append that may be cut back after a failure must not depend on the
 * descriptor's position, which a failed write leaves past the cut).
 */
export async function writeAll(fd: number, bufs: readonly Uint8Array[], position?: number): Promise<void> {
  if (bufs.length === 0) return;
  const total = bufs.reduce((n, b) => n + b.length, 0);
  const bytesWritten = await fdWritev(fd, bufs, position ?? null);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(bufs).subarray(bytesWritten);
  let off = 0;
  while (off < rest.length)
    off += await fdWrite(
      fd,
      rest,
      off,
      rest.length - off,
      position === undefined ? null : position + bytesWritten + off,
    );
}

/**
 * `writeAll` on this thread: for writes that need no disk wait (no O_DSYNC, into the page cache),
 * where the thread-pool hand-off would cost more than the copy.
 */
export function writeAllSync(fd: number, bufs: readonly Uint8Array[], position: number): void {
  if (bufs.length === 0) return;
  const total = bufs.reduce((n, b) => n + b.length, 0);
  const bytesWritten = fs.writevSync(fd, bufs as NodeJS.ArrayBufferView[], position);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(bufs).subarray(bytesWritten);
  for (let off = 0; off < rest.length; )
    off += fs.writeSync(fd, rest, off, rest.length - off, position + bytesWritten + off);
}

/** fsyncs a directory so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await fdOpen(dir, "r");
  try {
    await fdSync(fd);
  } finally {
    await fdClose(fd);
  }
}

/**
 * Replaces `path` with `data` atomically: writes `path.tmp`, fsyncs it, renames it over `path`,
 * fsyncs the directory. A crash leaves either the old or the new content, never a mix; a failed
 * write (a full disk) removes the temporary file and leaves the old content.
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array, fsync = true): Promise<void> {
  const tmp = `${path}.tmp`;
  const fd = await fdOpen(tmp, "w", 0o644);
  try {
    await writeAll(fd, [typeof data === "string" ? Buffer.from(data) : data]);
    if (fsync) await fdSync(fd);
  } catch (e) {
    // ENOSPC and the like: no half-written temporary file is left to take the space
    await fdClose(fd).catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fdClose(fd);
  await rename(tmp, path);
  if (fsync) await fsyncDir(dirname(path));
}
