// Fast paths for two per-byte loops of mailauth's DKIM body hash (4.13.x), installed on the DKIM
// signing thread (dkim-thread.js). Plain JavaScript, as that thread loads it without a loader.
//
// Why: on ingress (b) with live delivery (100 KiB bodies) these two loops were 1.5 ms of the
// signing thread's 2.2 ms per message (`--cpu-prof`, BENCHMARKS.md issue 16 session 11):
// - MessageParser#ensureLinebreaks looks at every byte for a bare LF (and stores the byte on
//   `this` each time);
// - RelaxedHash#update looks at every byte for what makes a line need relaxed canonicalisation.
// Both now look only at what the native Buffer#indexOf finds (line breaks, tabs, double spaces)
// and hand everything else to mailauth's own code: a line that needs fixing goes through
// mailauth's fixLineBuffer, the bytes are hashed through its _pushBodyHash, a final call and a
// body past l= are its update unchanged. Same bytes hashed in the same pieces, so the same hash:
// tests/delivery/dkim-canon.test.ts compares both with mailauth's on generated bodies cut anywhere.
// No library does this faster (mailauth is the well-kept one); an upstream candidate.
//
// They read fields of mailauth's classes (`remainder`, `byteLength`, `maxSizeReached`,
// `lastByte`) and call its methods (`_pushBodyHash`, `fixLineBuffer`); install() checks they are
// there and otherwise leaves mailauth as it is.
import { RelaxedHash } from "mailauth/lib/dkim/body/relaxed.js";
import { MessageParser } from "mailauth/lib/dkim/message-parser.js";

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
/** A Buffer needle: a string one is encoded again on every search. */
const TWO_SPACES = Buffer.from("  ");

/** mailauth's own methods, as shipped. */
export const original = {
  update: RelaxedHash.prototype.update,
  ensureLinebreaks: MessageParser.prototype.ensureLinebreaks,
};

/**
 * MessageParser#ensureLinebreaks: yields `input` as it is when every LF in it follows a CR (the
 * common case: the relay stores CRLF only), as mailauth does; otherwise mailauth's generator.
 */
export function* ensureLinebreaks(input) {
  for (let i = input.indexOf(LF); i !== -1; i = input.indexOf(LF, i + 1)) {
    if ((i === 0 ? this.lastByte : input[i - 1]) !== CR) {
      yield* original.ensureLinebreaks.call(this, input);
      return;
    }
  }
  // mailauth keeps the last byte that is not an LF
  let k = input.length - 1;
  while (k >= 0 && input[k] === LF) k--;
  if (k >= 0) this.lastByte = input[k];
  yield input;
}

/**
 * RelaxedHash#update for a chunk that is not the last: line by line (from one LF to the next), a
 * line needs fixing when mailauth's loop would say so — a bare LF (at the chunk's start or after
 * a byte other than CR), a space before its CRLF, a tab, or two spaces in a row — and is then
 * fixed by mailauth's fixLineBuffer; the lines between are hashed as they are, in the pieces
 * mailauth hashes them in. What follows the last LF is kept for the next call, as mailauth does.
 */
export function relaxedUpdate(chunk, final) {
  if (final || !chunk || !chunk.length || this.maxSizeReached)
    return original.update.call(this, chunk, final);
  this.byteLength += chunk.length;
  if (this.remainder?.length) chunk = Buffer.concat([this.remainder, chunk]);
  this.remainder = false;

  let cursor = 0; // first byte not yet hashed
  let lineEnd = -1; // the last LF seen
  let tab = chunk.indexOf(TAB);
  let spaces = chunk.indexOf(TWO_SPACES);
  for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
    const start = lineEnd + 1;
    if (tab !== -1 && tab < start) tab = chunk.indexOf(TAB, start);
    if (spaces !== -1 && spaces < start) spaces = chunk.indexOf(TWO_SPACES, start);
    const fix =
      lf === 0 ||
      chunk[lf - 1] !== CR ||
      (lf >= 2 && chunk[lf - 2] === SPACE) ||
      (tab !== -1 && tab < lf) ||
      (spaces !== -1 && spaces < lf);
    if (fix) {
      if (lineEnd >= 0 && lineEnd >= cursor) this._pushBodyHash(chunk.subarray(cursor, lineEnd + 1));
      this._pushBodyHash(this.fixLineBuffer(chunk.subarray(start, lf + 1)));
      cursor = lf + 1;
    }
    lineEnd = lf;
  }
  if (cursor < chunk.length && cursor !== lineEnd) {
    const part = chunk.subarray(cursor, lineEnd + 1);
    if (part.length) this._pushBodyHash(part);
    cursor = lineEnd + 1;
  }
  if (cursor < chunk.length) this.remainder = chunk.subarray(cursor);
}

/** Whether this mailauth has the fields and methods the fast paths use. */
export function compatible() {
  const h = new RelaxedHash("sha256");
  return (
    "remainder" in h &&
    "byteLength" in h &&
    "maxSizeReached" in h &&
    typeof h._pushBodyHash === "function" &&
    typeof h.fixLineBuffer === "function" &&
    typeof original.ensureLinebreaks === "function"
  );
}

/** Puts the fast paths in place of mailauth's loops (this thread only); false if not compatible. */
export function install() {
  if (!compatible()) return false;
  RelaxedHash.prototype.update = relaxedUpdate;
  MessageParser.prototype.ensureLinebreaks = ensureLinebreaks;
  return true;
}
