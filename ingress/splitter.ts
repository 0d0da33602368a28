/**
 * mailsplit's Splitter, with one shortcut: the body of a single-part message (the root part is
 * not multipart and not an inline message/rfc822) is handed on as it arrives, chunk by chunk,
 * instead of line by line.
 *
 * Why: mailsplit reads every body line through its line parser — a JavaScript loop over each
 * byte, a `processLine` callback and a `setImmediate` per line (1,300 of them for a 100 KiB body
 * of 78-byte lines) — only to look for boundary lines. A single-part root has no boundary to look
 * for: mailsplit itself passes its body on unchanged, as `body` chunks of the root node. The
 * shortcut produces exactly those chunks (the bytes, in order; only the chunking differs), without
 * the line loop: on ingress (b) (100 KiB messages) it was 12 % of the event loop (BENCHMARKS.md).
 *
 * The header block is still parsed by mailsplit itself: the chunk that holds its end is cut right
 * after the empty line, mailsplit reads the head, and the shortcut starts only if mailsplit then
 * sits in the root's body with nothing buffered. Anything else (multipart, an embedded message, a
 * head over the size limit, a head that never ends) stays on mailsplit's own path, errors included.
 * The shortcut reads three fields of mailsplit's Splitter (5.4.x: `node`, `state`, `line`); if they
 * are not there (another version), it is off and the class is mailsplit's Splitter unchanged.
 * tests/ingress/splitter.test.ts compares its output with mailsplit's on generated messages.
 */
import type { TransformCallback } from "node:stream";
import mailsplit from "mailsplit";

/** mailsplit 5.4.x message-splitter.js: the parser's state while in a part's body. */
const BODY = 0x02;

/** The fields of mailsplit's Splitter the shortcut reads. */
interface SplitterInternals {
  node?: { root?: boolean; multipart?: unknown };
  state?: number;
  line?: Buffer | false;
  _transform(chunk: Buffer, enc: BufferEncoding, done: TransformCallback): void;
}

/**
 * Where the header block ends in `buf` (just after its empty line), or -1 if not in it. `atStart`:
 * `buf` starts the message (its first line may be the empty one); otherwise `buf` starts with the
 * last bytes before it, and only an empty line after a line break in `buf` counts.
 */
export function headEnd(buf: Buffer, atStart: boolean): number {
  if (atStart && buf[0] === 0x0a) return 1;
  if (atStart && buf[0] === 0x0d && buf[1] === 0x0a) return 2;
  for (let lf = buf.indexOf(0x0a); lf !== -1; lf = buf.indexOf(0x0a, lf + 1)) {
    if (buf[lf + 1] === 0x0a) return lf + 2;
    if (buf[lf + 1] === 0x0d && buf[lf + 2] === 0x0a) return lf + 3;
  }
  return -1;
}

export class Splitter extends mailsplit.Splitter {
  /** Set once the root's body is reached: the rest of the stream is that body. */
  private rootBody?: object;
  /** Still in the root's head (the shortcut may start). */
  private inHead: boolean;
  /** The last (up to) 2 bytes of the head so far: a line break may be split between chunks. */
  private last: Buffer = Buffer.alloc(0);
  private seen = 0;

  constructor(options: { maxHeadSize?: number } = {}) {
    super(options);
    const s = this as unknown as SplitterInternals;
    this.inHead = s.node?.root === true && typeof s.state === "number" && "line" in s;
  }

  override _transform(chunk: Buffer, enc: BufferEncoding, done: TransformCallback): void {
    const base = mailsplit.Splitter.prototype as unknown as SplitterInternals;
    if (this.rootBody) {
      if (chunk.length > 0) this.push({ node: this.rootBody, type: "body", value: chunk });
      done();
    } else if (!this.inHead) {
      base._transform.call(this, chunk, enc, done);
    } else {
      const end = this.findHeadEnd(chunk);
      // Past the head only if it ends in this chunk (an end at its start is left to mailsplit).
      if (end !== -1) this.inHead = false;
      if (end <= 0) base._transform.call(this, chunk, enc, done);
      else
        base._transform.call(this, chunk.subarray(0, end), enc, (err?: Error | null) =>
          this.afterHead(err, chunk, end, enc, done),
        );
    }
  }

  /** Where the head ends in `chunk`, -1 if not in it; remembers the chunk's last bytes. */
  private findHeadEnd(chunk: Buffer): number {
    const joined = this.last.length > 0 ? Buffer.concat([this.last, chunk]) : chunk;
    const at = headEnd(joined, this.seen === 0);
    this.seen += chunk.length;
    this.last = Buffer.from(joined.subarray(Math.max(0, joined.length - 2)));
    return at === -1 ? -1 : at - (joined.length - chunk.length);
  }

  /** mailsplit has read the head: in the root's body with nothing held, the shortcut starts. */
  private afterHead(
    err: Error | null | undefined,
    chunk: Buffer,
    end: number,
    enc: BufferEncoding,
    done: TransformCallback,
  ): void {
    if (err) {
      done(err);
      return;
    }
    const s = this as unknown as SplitterInternals;
    const node = s.node;
    if (node?.root === true && !node.multipart && s.state === BODY && !s.line) {
      this.rootBody = node;
      if (end < chunk.length) this.push({ node, type: "body", value: chunk.subarray(end) });
      done();
    } else if (end < chunk.length) {
      const base = mailsplit.Splitter.prototype as unknown as SplitterInternals;
      base._transform.call(this, chunk.subarray(end), enc, done);
    } else done();
  }
}
