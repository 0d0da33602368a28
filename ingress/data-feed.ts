/**
 * A fast path for smtp-server's DATA parser (3.21.x `SMTPStream#_feedDataStream`): a chunk with no
 * dot at a line start is passed on after native `Buffer#indexOf` scans, not copied and walked byte
 * by byte.
 *
 * Why: in data mode smtp-server copies every incoming chunk into a new buffer (`Buffer.concat` of
 * the 4 bytes it held back and the chunk) and then looks at every byte in JavaScript for a dot
 * after a line feed (an escape dot, or the end of DATA). `npm run bench:data-feed` (a 100 KiB
 * message in 16 KiB chunks): ~233 µs of CPU per message through smtp-server, ~101 µs with this
 * path — and 100 KiB fewer bytes of buffers allocated per message, which is what starts V8's major
 * collections on ingress (b) (BENCHMARKS.md, issue 16 sessions 16 and 17). smtp-server is the
 * well-kept server and has no option for this; an upstream candidate.
 *
 * The fast path takes a chunk only when smtp-server's loop would find nothing in it: not at the
 * start of DATA, the chunk at least MIN_FAST bytes long, the data stream writable, and no `\n.`
 * in the held-back bytes, across them and the chunk, or in the chunk. It then does what
 * smtp-server does with such a chunk: counts and emits the held-back bytes and all of the chunk
 * but its last 4 bytes, which it holds back, and waits for the data stream to drain when it asks
 * to. The held-back bytes are written as their own chunk (4 bytes) instead of being copied in
 * front of the next one. Every other chunk, and with it every dot, every end of DATA and every
 * byte count past the size limit, is smtp-server's own code. tests/ingress/data-feed.test.ts
 * compares the two on generated chunk sequences.
 */
import { SMTPStream } from "smtp-server/lib/smtp-stream.js";

const LF = 0x0a;
const DOT = 0x2e;
const LF_DOT = Buffer.from("\n.");
/** Shorter chunks go through smtp-server's loop: there it costs less than a second write downstream. */
export const MIN_FAST = 1024;

type Done = (err?: Error | null) => void;
type FeedFn = (this: Parser, chunk: Buffer, done: Done) => void;
/** The fields of smtp-server's parser the fast path reads and keeps. */
type Parser = SMTPStream & {
  _countDataBytes(len: number): void;
  _feedDataStream: FeedFn;
};

const proto = SMTPStream.prototype as Parser;
/** smtp-server's own `_feedDataStream`, as shipped. */
export const originalFeed: FeedFn = proto._feedDataStream;

/** Whether smtp-server's loop finds no dot at a line start in `held` followed by `chunk`. */
export function plain(chunk: Buffer, held: Buffer | undefined): boolean {
  if (chunk.indexOf(LF_DOT) !== -1) return false;
  if (!held) return true;
  return held.indexOf(LF_DOT) === -1 && !(held[held.length - 1] === LF && chunk[0] === DOT);
}

/** `_feedDataStream` with the fast path for chunks of at least `minBytes` (tests use small ones). */
export function fastFeed(minBytes = MIN_FAST): FeedFn {
  return function feed(this: Parser, chunk: Buffer, done: Done): void {
    const stream = this._dataStream;
    const held = this._lastBytes && this._lastBytes.length > 0 ? this._lastBytes : undefined;
    if (
      this._atDataStart ||
      chunk.length < Math.max(minBytes, 4) ||
      !stream?.writable ||
      !plain(chunk, held)
    ) {
      originalFeed.call(this, chunk, done);
      return;
    }
    const out = chunk.subarray(0, chunk.length - 4);
    this._lastBytes = chunk.subarray(chunk.length - 4);
    this._countDataBytes((held?.length ?? 0) + out.length);
    if (held) stream.write(held);
    if (stream.write(out) || stream.destroyed) {
      done();
      return;
    }
    // as smtp-server: a stream the application destroys never drains, it only closes
    const onDrain = () => {
      stream.removeListener("drain", onDrain);
      stream.removeListener("close", onDrain);
      done();
    };
    stream.once("drain", onDrain);
    stream.once("close", onDrain);
  };
}

/** Whether this smtp-server's parser has the fields the fast path keeps. */
export function compatible(): boolean {
  const s = new SMTPStream() as Parser;
  return (
    typeof originalFeed === "function" &&
    typeof s._countDataBytes === "function" &&
    s._lastBytes === false &&
    s._atDataStart === false &&
    s.dataBytes === 0
  );
}

let installed: boolean | undefined;
/** Puts the fast path in place (every SMTP session of this process); false if not compatible. */
export function installDataFeedFastPath(): boolean {
  if (installed === undefined) {
    installed = compatible();
    if (installed) proto._feedDataStream = fastFeed();
  }
  return installed;
}
