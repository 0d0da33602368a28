/**
 * S13 and S6 on the DATA stream: bare CR and bare LF become CRLF (an SMTP-smuggling payload is
 * never relayed as such; end-of-DATA itself is detected by smtp-server on CRLF.CRLF only), the
 * message stops with 552 5.3.4 as soon as it grows past the size limit, and 8-bit content is
 * noticed for the per-recipient record.
 */
import { Transform, type TransformCallback } from "node:stream";
import { Replies } from "./errors.ts";

const CR = 0x0d;
const LF = 0x0a;

/** Pure: normalizes one chunk; `pendingCr` says the previous chunk ended in a CR. */
export function normalizeLineEnds(
  chunk: Uint8Array,
  pendingCr: boolean,
): { out: Buffer; pendingCr: boolean } {
  const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
  let n = 0;
  let cr = pendingCr;
  for (const b of chunk) {
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

export class LineGuard extends Transform {
  bytes = 0;
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
    if (!this.eightBit && chunk.some((b) => b >= 0x80)) this.eightBit = true;
    const r = normalizeLineEnds(chunk, this.pendingCr);
    this.pendingCr = r.pendingCr;
    done(null, r.out);
  }

  override _flush(done: TransformCallback): void {
    done(null, this.pendingCr ? Buffer.from("\r\n") : undefined);
  }
}
