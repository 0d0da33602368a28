/**
 * The on-disk record frame of a log segment. All integers little-endian.
 *
 *   u32  length     bytes that follow this field (crc + body)
 *   u32  crc        CRC-32 (IEEE, as zlib) of the body
 *   body:
 *   u8   version    FRAME_VERSION
 *   u8   attributes 0 (reserved)
 *   u16  headerCount
 *   u64  offset
 *   u64  timestamp  ms since the epoch
 *   u32  keyLength
 *   u32  valueLength
 *   key bytes (UTF-8)
 *   headerCount × { u16 nameLength, name (UTF-8), u32 valueLength, value (UTF-8) }
 *   value bytes
 *
 * A frame is valid only if its length is within bounds, all of it is present, the CRC matches and
 * the body's own lengths add up to the frame length. The length field itself is not in the CRC,
 * but a wrong length makes the CRC cover the wrong bytes, so it is caught too.
 */
import { crc32 } from "node:zlib";
import type { Headers } from "../types.ts";

export const FRAME_VERSION = 1;
/** length + crc */
export const FRAME_PREFIX = 8;
/** version, attributes, headerCount, offset, timestamp, keyLength, valueLength */
export const BODY_FIXED = 28;
export const MIN_FRAME = FRAME_PREFIX + BODY_FIXED;
/** Refuse (and treat as corrupt) frames larger than this. */
export const MAX_FRAME = 256 * 1024 * 1024;

export interface StoredRecord {
  offset: number;
  timestamp: number;
  key: string;
  headers: Headers;
  value: Uint8Array;
}

const TWO32 = 0x1_0000_0000;

function writeU64(buf: Buffer, pos: number, n: number): void {
  buf.writeUInt32LE(n % TWO32, pos);
  buf.writeUInt32LE(Math.floor(n / TWO32), pos + 4);
}

function readU64(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos) + buf.readUInt32LE(pos + 4) * TWO32;
}

/** Encodes one record as a complete frame. */
export function encodeFrame(
  offset: number,
  timestamp: number,
  key: string,
  headers: Headers | undefined,
  value: Uint8Array,
): Buffer {
  const keyLen = Buffer.byteLength(key, "utf8");
  const entries = headers ? Object.entries(headers) : [];
  if (entries.length > 0xffff) throw new RangeError("too many headers (max 65535)");
  let headerBytes = 0;
  for (const [name, val] of entries) {
    const nameLen = Buffer.byteLength(name, "utf8");
    if (nameLen > 0xffff) throw new RangeError("header name too long (max 65535 bytes)");
    headerBytes += 6 + nameLen + Buffer.byteLength(val, "utf8");
  }
  const bodyLen = BODY_FIXED + keyLen + headerBytes + value.length;
  const total = FRAME_PREFIX + bodyLen;
  if (total > MAX_FRAME) throw new RangeError(`record too large: ${total} bytes (max ${MAX_FRAME})`);
  const buf = Buffer.allocUnsafe(total);
  buf.writeUInt32LE(total - 4, 0);
  let p = FRAME_PREFIX;
  buf.writeUInt8(FRAME_VERSION, p);
  buf.writeUInt8(0, p + 1);
  buf.writeUInt16LE(entries.length, p + 2);
  writeU64(buf, p + 4, offset);
  writeU64(buf, p + 12, timestamp);
  buf.writeUInt32LE(keyLen, p + 20);
  buf.writeUInt32LE(value.length, p + 24);
  p += BODY_FIXED;
  p += buf.write(key, p, "utf8");
  for (const [name, val] of entries) {
    const nameLen = buf.write(name, p + 2, "utf8");
    buf.writeUInt16LE(nameLen, p);
    p += 2 + nameLen;
    const valLen = buf.write(val, p + 4, "utf8");
    buf.writeUInt32LE(valLen, p);
    p += 4 + valLen;
  }
  buf.set(value, p);
  buf.writeUInt32LE(crc32(buf.subarray(FRAME_PREFIX)), 4);
  return buf;
}

export type FrameCheck =
  | { ok: true; size: number; offset: number }
  /** "short": the frame runs past the available bytes (`need` = its full size, if the length is sane). */
  | { ok: false; reason: "short"; need: number }
  | { ok: false; reason: "length" | "crc" | "version" | "layout"; need?: undefined };

/**
 * Checks the frame at `pos` within `buf[0, end)` without decoding its strings: length bounds,
 * presence, CRC, version and that the body's lengths add up.
 */
export function checkFrame(buf: Buffer, pos: number, end: number): FrameCheck {
  if (end - pos < 4) return { ok: false, reason: "short", need: MIN_FRAME };
  const len = buf.readUInt32LE(pos);
  const size = len + 4;
  if (size < MIN_FRAME || size > MAX_FRAME) return { ok: false, reason: "length" };
  if (end - pos < size) return { ok: false, reason: "short", need: size };
  const body = pos + FRAME_PREFIX;
  if (crc32(buf.subarray(body, pos + size)) !== buf.readUInt32LE(pos + 4))
    return { ok: false, reason: "crc" };
  if (buf.readUInt8(body) !== FRAME_VERSION) return { ok: false, reason: "version" };
  const headerCount = buf.readUInt16LE(body + 2);
  const keyLen = buf.readUInt32LE(body + 20);
  const valueLen = buf.readUInt32LE(body + 24);
  let p = body + BODY_FIXED + keyLen;
  for (let i = 0; i < headerCount; i++) {
    if (p + 2 > pos + size) return { ok: false, reason: "layout" };
    p += 2 + buf.readUInt16LE(p);
    if (p + 4 > pos + size) return { ok: false, reason: "layout" };
    p += 4 + buf.readUInt32LE(p);
  }
  if (p + valueLen !== pos + size) return { ok: false, reason: "layout" };
  return { ok: true, size, offset: readU64(buf, body + 4) };
}

/** Decodes a frame that `checkFrame` accepted. The value is copied out of `buf`. */
export function decodeFrame(buf: Buffer, pos: number): StoredRecord {
  const body = pos + FRAME_PREFIX;
  const size = buf.readUInt32LE(pos) + 4;
  const headerCount = buf.readUInt16LE(body + 2);
  const offset = readU64(buf, body + 4);
  const timestamp = readU64(buf, body + 12);
  const keyLen = buf.readUInt32LE(body + 20);
  const valueLen = buf.readUInt32LE(body + 24);
  let p = body + BODY_FIXED;
  const key = buf.toString("utf8", p, p + keyLen);
  p += keyLen;
  const headers: Headers = {};
  for (let i = 0; i < headerCount; i++) {
    const nameLen = buf.readUInt16LE(p);
    const name = buf.toString("utf8", p + 2, p + 2 + nameLen);
    p += 2 + nameLen;
    const valLen = buf.readUInt32LE(p);
    headers[name] = buf.toString("utf8", p + 4, p + 4 + valLen);
    p += 4 + valLen;
  }
  const value = new Uint8Array(valueLen);
  value.set(buf.subarray(p, pos + size));
  return { offset, timestamp, key, headers, value };
}

/** The value length of a checked frame, without decoding it (tombstone test in compaction). */
export function frameValueLength(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos + FRAME_PREFIX + 24);
}

/** The key of a checked frame, without decoding the rest. */
export function frameKey(buf: Buffer, pos: number): string {
  const body = pos + FRAME_PREFIX;
  const keyLen = buf.readUInt32LE(body + 20);
  return buf.toString("utf8", body + BODY_FIXED, body + BODY_FIXED + keyLen);
}

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, "0")}.log`;
}

/** The base offset of a segment file name, or undefined if it is not one. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = /^(\d{20})\.log$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
