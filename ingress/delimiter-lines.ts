/**
 * Counts the MIME delimiter lines of a message body streamed in chunks (intake's check that
 * mailsplit saw every part; found by tests/fuzz/targets/mime.ts). A line counts when, at its end,
 * it is one of `delimiters` (`--<boundary>` of the multiparts seen so far; the set may grow
 * between chunks) followed by nothing but spaces, tabs and CRs: the closing `--<boundary>--` is
 * not one. Bytes are read as latin1 characters; lines end at LF.
 *
 * The chunks are scanned as bytes, not converted to text: a delimiter line starts with `--`, so
 * only lines found by `indexOf("\n--")` are looked at, and the only bytes carried from one chunk
 * to the next are those of a line in progress that may still be a delimiter line.
 */
const LF = 0x0a;
const DASH = 0x2d;
const LF_DASH_DASH = Buffer.from("\n--", "latin1");

export class DelimiterLineCounter {
  /** Delimiter lines counted so far. */
  count = 0;
  /**
   * The line in progress, in pieces, while it may still be a delimiter line (it starts with `--`,
   * or has fewer than 2 bytes that are dashes); empty at a line start; undefined when it cannot be.
   */
  private line: Buffer[] | undefined = [];

  constructor(private readonly delimiters: ReadonlySet<string>) {}

  /** Reads one chunk; nothing is read (not even the line ends) while `delimiters` is empty. */
  push(chunk: Buffer): void {
    if (this.delimiters.size === 0) return;
    let pos = 0;
    if (this.line === undefined || this.line.length > 0) {
      const lf = chunk.indexOf(LF);
      if (this.line !== undefined) {
        const pieces = [...this.line, chunk.subarray(0, lf === -1 ? chunk.length : lf)];
        if (lf !== -1) this.countLine(Buffer.concat(pieces));
        else this.line = mayBeDelimiterLine(pieces) ? [...this.line, Buffer.from(chunk)] : undefined;
      }
      if (lf === -1) return;
      pos = lf + 1;
    }
    // `pos` is a line start.
    for (;;) {
      if (mayBeDelimiterLine([chunk.subarray(pos, pos + 2)])) {
        const lf = chunk.indexOf(LF, pos);
        if (lf === -1) {
          this.line = pos === chunk.length ? [] : [Buffer.from(chunk.subarray(pos))];
          return;
        }
        this.countLine(chunk.subarray(pos, lf));
        pos = lf + 1;
        continue;
      }
      const next = chunk.indexOf(LF_DASH_DASH, pos);
      if (next !== -1) {
        pos = next + 1;
        continue;
      }
      // No line starting with `--` from here on: at most the last line may begin one (`-`).
      const last = chunk.lastIndexOf(LF);
      if (last < pos) {
        this.line = undefined;
        return;
      }
      pos = last + 1;
    }
  }

  private countLine(line: Buffer): void {
    if (line.length < 2 || line[0] !== DASH || line[1] !== DASH) return;
    let end = line.length;
    while (end > 0 && isTrailingBlank(line[end - 1] as number)) end--;
    if (this.delimiters.has(line.toString("latin1", 0, end))) this.count++;
  }
}

/** Are the first (up to) 2 bytes of these pieces dashes? */
function mayBeDelimiterLine(pieces: Buffer[]): boolean {
  let seen = 0;
  for (const piece of pieces)
    for (let i = 0; i < piece.length && seen < 2; i++, seen++) if (piece[i] !== DASH) return false;
  return true;
}

/** Space, tab or CR: what may follow the delimiter on its line. */
const isTrailingBlank = (b: number) => b === 0x20 || b === 0x09 || b === 0x0d;
