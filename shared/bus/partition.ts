/**
 * Key → partition, the same function in every adapter and on every node, so that a key's
 * records, its actor and its changelog always meet in one partition number.
 *
 * It is Kafka's default partitioner (murmur2 of the key's UTF-8 bytes, seed 0x9747b28c, made
 * positive, modulo the partition count), so records that other Kafka clients produce with the
 * same key land in the same partition too (tests/bus/partition.test.ts checks it against
 * kafkajs's own). Written here because it is 30 lines and kafkajs keeps its copy private.
 *
 * Every record published is hashed (about 25 per accepted 5-recipient message), and its keys
 * (account ids, actor keys, content refs) are ASCII: an ASCII key is hashed from its character
 * codes, which are its UTF-8 bytes, without encoding it into a new array first.
 */
import { utf8 } from "../utf8.ts";

const M = 0x5bd1e995;
const SEED = 0x9747b28c;

/** One 4-byte block mixed into `h`. */
function mix(h: number, block: number): number {
  let k = Math.imul(block, M);
  k ^= k >>> 24;
  k = Math.imul(k, M);
  return Math.imul(h, M) ^ k;
}

/** The last 0–3 bytes (`tail`, little-endian) and the final avalanche. */
function finish(h: number, tail: number, rest: number): number {
  if (rest > 0) h = Math.imul(h ^ tail, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const base = length & ~3;
  for (let i = 0; i < base; i += 4)
    h = mix(h, data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
  const rest = length & 3;
  let tail = 0;
  for (let j = rest - 1; j >= 0; j--) tail = (tail << 8) | data[base + j]!;
  return finish(h, tail, rest);
}

/** murmur2 of an ASCII string's bytes, read as its character codes; undefined if it is not ASCII. */
function murmur2Ascii(s: string): number | undefined {
  const length = s.length;
  let h = (SEED ^ length) | 0;
  const base = length & ~3;
  for (let i = 0; i < base; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return undefined;
    h = mix(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const rest = length & 3;
  let tail = 0;
  for (let j = rest - 1; j >= 0; j--) {
    const c = s.charCodeAt(base + j);
    if (c > 0x7f) return undefined;
    tail = (tail << 8) | c;
  }
  return finish(h, tail, rest);
}

export function partitionFor(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`partition count must be >= 1, got ${partitions}`);
  const h = murmur2Ascii(key) ?? murmur2(utf8(key));
  return (h & 0x7fffffff) % partitions;
}
