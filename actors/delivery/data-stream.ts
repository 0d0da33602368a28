/**
 * A fast path for nodemailer's DATA encoder (10.x `DataStream#_transform`): a chunk it would pass
 * on unchanged is passed on after a few native `Buffer#indexOf` scans instead of its per-byte loop.
 *
 * Why: the encoder stuffs a dot at a line start and turns a bare CR or LF into CRLF. It looks at
 * every byte in JavaScript to find them, also when there is none — and the relay stores CRLF-only
 * content, so there almost never is one. On ingress (b) with live delivery (100 KiB messages) that
 * loop was 8 % of the main thread (`--cpu-prof`, BENCHMARKS.md issue 16 session 11). nodemailer is
 * the well-kept client, and no option skips the encoder; an upstream candidate.
 *
 * The fast path takes a chunk only when nodemailer's loop would insert nothing into it: no `.` at a
 * line start (after `\n`, or first in the stream), no LF without a CR before it, no CR without an
 * LF after it (a CR ending the chunk is judged with the next one, through `lastByte`, as nodemailer
 * does). It then does what nodemailer does with such a chunk: pushes it as it is and keeps its
 * counts and last byte. Any other chunk is nodemailer's. tests/delivery/data-stream.test.ts
 * compares the two on generated chunks.
 */
import DataStream from "nodemailer/lib/smtp-connection/data-stream.js";
import { onlyCrlf } from "../../shared/crlf.ts";

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const LF_DOT = Buffer.from("\n.");

type TransformFn = (chunk: unknown, encoding: BufferEncoding, done: (err?: Error | null) => void) => void;
type Encoder = DataStream & { _transform: TransformFn };

const proto = DataStream.prototype as Encoder;
/** nodemailer's own `_transform`, as shipped. */
export const originalTransform: TransformFn = proto._transform;

/** Whether nodemailer's encoder passes `chunk` on unchanged after a chunk ending in `lastByte`. */
export function unchanged(chunk: Buffer, lastByte: number | false): boolean {
  const first = chunk[0];
  if (first === DOT && (lastByte === LF || lastByte === false)) return false;
  if (chunk.indexOf(LF_DOT) !== -1) return false;
  // A CR that ended the chunk before needs this chunk's LF; a CR ending this one waits for the next.
  let lines: Uint8Array = chunk;
  if (lastByte === CR) {
    if (first !== LF) return false;
    lines = lines.subarray(1);
  }
  if (lines[lines.length - 1] === CR) lines = lines.subarray(0, -1);
  return onlyCrlf(lines);
}

/** nodemailer's `_transform` with the fast path (installed by installDataStreamFastPath). */
export function fastTransform(
  this: Encoder,
  chunk: unknown,
  encoding: BufferEncoding,
  done: (err?: Error | null) => void,
) {
  if (!Buffer.isBuffer(chunk) || chunk.length === 0 || !unchanged(chunk, this.lastByte))
    return originalTransform.call(this, chunk, encoding, done);
  this.inByteCount += chunk.length;
  this.outByteCount += chunk.length;
  this.push(chunk);
  this.lastByte = chunk[chunk.length - 1] as number;
  done();
}

/** Whether this nodemailer's encoder has the fields the fast path keeps. */
export function compatible(): boolean {
  const s = new DataStream() as Encoder;
  return (
    typeof originalTransform === "function" &&
    s.lastByte === false &&
    s.inByteCount === 0 &&
    s.outByteCount === 0
  );
}

/** Puts the fast path in place (every encoder of this thread); false if not compatible. */
export function installDataStreamFastPath(): boolean {
  if (!compatible()) return false;
  proto._transform = fastTransform;
  return true;
}
