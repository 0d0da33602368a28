/**
 * mailsplit's Splitter, without its line loop where no line can matter: the body lines of a part
 * that cannot be a boundary are handed on in runs, as mailsplit itself would hand them on.
 *
 * Why: mailsplit reads every line through its parser — a JavaScript loop over each byte, a
 * `processLine` callback and a `setImmediate` per line (1,300 of them for a 100 KiB body or
 * attachment of 76-78-byte lines) — only to look for boundary lines. In a part's body only a line
 * that starts with `--` (or `\r--`, which mailsplit reads the same way) can be one:
 * - the body of a single-part message (the root is not multipart) has no boundary at all: after
 *   its head, every chunk is handed on as a `body` chunk of the root, as mailsplit does;
 * - in a leaf part of a multipart, the lines before the next `--` line are body: they are handed on
 *   as a `body` chunk of that part, all but the line break before the `--` line (which mailsplit
 *   moves into the boundary's `data` chunk when the line is a boundary). mailsplit reads the line
 *   break and the `--` line itself, and everything else: heads, preambles, epilogues, boundaries.
 * Same output as mailsplit: the same parts with the same headers at the same places in the byte
 * stream, the same bytes, the same errors; only the chunking differs, and the line break before a
 * boundary may end the body chunk instead of starting the boundary's data chunk (as mailsplit
 * itself does when a body is nothing but that line break). The Joiner and intake read body and data
 * alike.
 * On ingress (b) (100 KiB single-part messages) the line loop was 12 % of the event loop.
 *
 * mailsplit is fed in pieces cut where the shortcut may start (just after a head's empty line,
 * after a `--` line). The shortcut reads three fields of mailsplit's Splitter (5.4.x: `node`,
 * `state`, `line`) and acts only when mailsplit sits in a body with no partial line held; if the
 * fields are not there (another version), the class is mailsplit's Splitter unchanged. It writes one:
 * a line break mailsplit holds back at the end of a piece is handed on with the body after it.
 * tests/ingress/splitter.test.ts compares its output with mailsplit's on generated messages.
 */
import type { TransformCallback } from "node:stream";
import mailsplit from "mailsplit";

/** mailsplit 5.4.x message-splitter.js: the parser's states. */
const HEAD = 0x01;
const BODY = 0x02;
const LF = 0x0a;
const CR = 0x0d;

/** The fields of mailsplit's Splitter the shortcut reads. */
interface SplitterInternals {
  node?: { root?: boolean; multipart?: unknown; parentNode?: unknown };
  state?: number;
  line?: Buffer | false;
  _transform(chunk: Buffer, enc: BufferEncoding, done: TransformCallback): void;
  _flush(done: TransformCallback): void;
}

const base = mailsplit.Splitter.prototype as unknown as SplitterInternals;

/**
 * Where the header block ends in `buf` (just after its empty line), or -1 if not in it. `atStart`:
 * `buf` starts at a line start (its first line may be the empty one); otherwise only an empty line
 * after a line break in `buf` counts.
 */
export function headEnd(buf: Buffer, atStart: boolean): number {
  if (atStart && buf[0] === LF) return 1;
  if (atStart && buf[0] === CR && buf[1] === LF) return 2;
  for (let lf = buf.indexOf(LF); lf !== -1; lf = buf.indexOf(LF, lf + 1)) {
    if (buf[lf + 1] === LF) return lf + 2;
    if (buf[lf + 1] === CR && buf[lf + 2] === LF) return lf + 3;
  }
  return -1;
}

/**
 * For a leaf body chunk that starts at a line start: `skip`, the bytes before the first line that
 * may be a boundary, less the line break before it (or before the chunk's last, partial line);
 * `feed`, where the piece for mailsplit ends (after that line, or the chunk's end).
 */
export function bodyRun(chunk: Buffer): { skip: number; feed: number } {
  for (let at = chunk.indexOf("--"); at !== -1; at = chunk.indexOf("--", at + 1)) {
    let start = -1;
    if (at === 0 || chunk[at - 1] === LF) start = at;
    else if (chunk[at - 1] === CR && (at === 1 || chunk[at - 2] === LF)) start = at - 1;
    if (start === -1) continue;
    const lf = chunk.indexOf(LF, at);
    return { skip: lineBreakBefore(chunk, start), feed: lf === -1 ? chunk.length : lf + 1 };
  }
  const last = chunk.lastIndexOf(LF);
  return { skip: last === -1 ? 0 : lineBreakBefore(chunk, last + 1), feed: chunk.length };
}

/** Where the line break that ends just before `lineStart` begins (0 at the chunk's start). */
function lineBreakBefore(chunk: Buffer, lineStart: number): number {
  if (lineStart === 0) return 0;
  const lf = lineStart - 1; // chunk[lf] is LF
  return lf > 0 && chunk[lf - 1] === CR ? lf - 1 : lf;
}

/** Lines mailsplit may read in one go before it yields to the event loop as it would on its own. */
export const INLINE_LINES = 512;

/**
 * Runs `call` (a call into mailsplit's parser) with mailsplit's per-line `setImmediate` turned into
 * a loop: mailsplit reads each line of a head, preamble or boundary and then waits for the next
 * turn of the event loop (`setImmediate(iterateData)`). Under load a turn is every other session's
 * I/O: five such waits per 5 KiB message were about 8 ms of its 12 ms from the end of DATA to the
 * stored content on ingress (a). The callbacks mailsplit defers while `call` runs are run here, in
 * order, once it returns; after `INLINE_LINES` of them the rest go to the real `setImmediate` (a
 * head of many short lines still lets other sessions in). `setImmediate` is swapped only for the
 * length of this synchronous call, which runs nothing but the parser and the streams it pushes to.
 */
export function inlineImmediates(call: () => void): void {
  const real = globalThis.setImmediate;
  const deferred: (() => void)[] = [];
  let budget = INLINE_LINES;
  const inline = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (budget-- <= 0) return real(fn, ...args);
    deferred.push(() => fn(...args));
    return undefined;
  }) as unknown as typeof setImmediate;
  globalThis.setImmediate = inline;
  try {
    call();
    for (let next = deferred.shift(); next; next = deferred.shift()) next();
  } finally {
    globalThis.setImmediate = real;
  }
}

const isLineBreak = (b: Buffer) =>
  (b.length === 1 && b[0] === LF) || (b.length === 2 && b[0] === CR && b[1] === LF);

export class Splitter extends mailsplit.Splitter {
  /** Set once the root's body is reached in a single-part message: the rest is that body. */
  private rootBody?: object;
  private readonly enabled: boolean;

  constructor(options: { maxHeadSize?: number } = {}) {
    super(options);
    const s = this as unknown as SplitterInternals;
    this.enabled = s.node?.root === true && s.state === HEAD && "line" in s;
  }

  override _transform(chunk: Buffer, enc: BufferEncoding, done: TransformCallback): void {
    inlineImmediates(() => {
      if (this.enabled) this.step(chunk, enc, done);
      else base._transform.call(this, chunk, enc, done);
    });
  }

  override _flush(done: TransformCallback): void {
    inlineImmediates(() => base._flush.call(this, done));
  }

  /** Hands on what needs no parsing, feeds mailsplit the next piece, and goes on after it. */
  private step(chunk: Buffer, enc: BufferEncoding, done: TransformCallback): void {
    const s = this as unknown as SplitterInternals;
    const node = s.node;
    if (this.rootBody || (node?.root === true && !node.multipart && s.state === BODY && !s.line)) {
      this.rootBody ??= node;
      if (chunk.length > 0) this.push({ node: this.rootBody, type: "body", value: chunk });
      done();
      return;
    }
    let feed = chunk.length;
    if (s.state === BODY && node && !node.multipart && !node.root) {
      // mailsplit holds back the line break that ended its last piece (it may precede a boundary).
      const held = s.line ? s.line : undefined;
      if (held && !isLineBreak(held)) {
        const lf = chunk.indexOf(LF); // mailsplit completes the partial line it holds
        feed = lf === -1 ? chunk.length : lf + 1;
      } else {
        const run = bodyRun(chunk);
        if (run.skip > 0) {
          // The held line break and the lines after it are body: handed on, and no longer held.
          const value = held
            ? Buffer.concat([held, chunk.subarray(0, run.skip)])
            : chunk.subarray(0, run.skip);
          if (held) s.line = false;
          this.push({ node, type: "body", value });
        }
        chunk = chunk.subarray(run.skip);
        feed = run.feed - run.skip;
      }
    } else if (s.state === HEAD) {
      // Up to just after the head's empty line, so that its body may be skipped.
      const held = s.line ? s.line.length : 0;
      const at = headEnd(held > 0 ? Buffer.concat([s.line as Buffer, chunk]) : chunk, true);
      if (at - held > 0) feed = at - held;
    }
    if (feed >= chunk.length) {
      base._transform.call(this, chunk, enc, done);
      return;
    }
    const rest = chunk.subarray(feed);
    base._transform.call(this, chunk.subarray(0, feed), enc, (err?: Error | null) => {
      if (err) done(err);
      else this.step(rest, enc, done);
    });
  }
}
