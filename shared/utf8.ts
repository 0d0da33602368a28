/**
 * The UTF-8 bytes of a string, for the bus's record values (actor envelopes, status events,
 * attempt requests, directory entries).
 *
 * `TextEncoder#encode` allocates an ArrayBuffer of its own for every call: each one is a backing
 * store for V8 to track, sweep and free. An accepted 5-recipient message makes about 50 of them.
 * Node's `Buffer.from` takes small strings out of one shared 8 KiB pool instead. Measured on
 * this machine with 371-byte JSON strings (2 M calls, process CPU per call, GC threads
 * included): 2.2 µs against 0.5–0.7 µs, and GC pauses 340 ms against 24–38 ms.
 *
 * A pooled Buffer is a view of a larger ArrayBuffer, so whoever reads `.buffer` must respect
 * `byteOffset`/`byteLength` (every reader in the relay does). Where `Buffer` does not exist (an
 * edge runtime), TextEncoder.
 */
interface BufferLike {
  from(s: string, encoding: "utf8"): Uint8Array;
}

const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;
const encoder = new TextEncoder();

export const utf8: (s: string) => Uint8Array = NodeBuffer
  ? (s) => NodeBuffer.from(s, "utf8")
  : (s) => encoder.encode(s);
