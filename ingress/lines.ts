/**
 * S13 and S6 on the DATA stream: bare CR and bare LF become CRLF (an SMTP-smuggling payload is
 * never relayed as such; end-of-DATA itself is detected by smtp-server on CRLF.CRLF only), the
 * message stops with 552 5.3.4 as soon as it grows past the size limit, and 8-bit content is
 * noticed for the per-recipient record.
 */
import * as nodeBuffer from "node:buffer";
import { Transform, type TransformCallback } from "node:stream";
import { onlyCrlf } from "../shared/crlf.ts";
import { Replies } from "./errors.ts";

const CR = 0x0d;
const LF = 0x0a;

/** Pure: normalizes one chunk; `pendingCr` says the previous chunk ended in a CR. */
export function normalizeLineEnds(
  chunk: Uint8Array,
  pendingCr: boolean,
): { out: Buffer; pendingCr: boolean } {
  // Fast path, the usual case: only CRLF line ends — the chunk goes on as it is, uncopied.
  if (!pendingCr && onlyCrlf(chunk)) {
    return { out: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), pendingCr: false };
  }
  const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
  let n = 0;
  let cr = pendingCr;
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i] as number;
    if (cr) {
      out[n++] = CR;
      out[n++] = LF;
      cr = false;
      if (b === LF) continue;
    }
    if (b === CR) cr = true;
    else if (b === LF) {
      out[n++] = CR;
      out[n++] = LF;
    } else out[n++] = b;
  }
  return { out: out.subarray(0, n), pendingCr: cr };
}

/** node:buffer's native isAscii (Node ≥ 19.6; one vectorized pass), a JS loop where it is missing. */
const isAscii: (chunk: Uint8Array) => boolean =
  (nodeBuffer as { isAscii?: (b: Uint8Array) => boolean }).isAscii ??
  ((chunk) => {
    for (let i = 0; i < chunk.length; i++) if ((chunk[i] as number) >= 0x80) return false;
    return true;
  });

export function hasEightBit(chunk: Uint8Array): boolean {
  return chunk.length > 0 && !isAscii(chunk);
}

export class LineGuard extends Transform {
  /** Bytes in, as the client sent them. */
  bytes = 0;
  /** Bytes out, line ends normalized: what the MIME walk reads. */
  outBytes = 0;
  eightBit = false;
  private pendingCr = false;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(Replies.tooLarge());
      return;
    }
    if (!this.eightBit && hasEightBit(chunk)) this.eightBit = true;
    const r = normalizeLineEnds(chunk, this.pendingCr);
    this.pendingCr = r.pendingCr;
    this.outBytes += r.out.length;
    done(null, r.out);
  }

  override _flush(done: TransformCallback): void {
    if (this.pendingCr) this.outBytes += 2;
    done(null, this.pendingCr ? Buffer.from("\r\n") : undefined);
  }
}
