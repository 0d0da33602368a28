/**
 * Key → partition, the same function in every adapter and on every node, so that a key's
 * records, its actor and its changelog always meet in one partition number.
 *
 * It is Kafka's default partitioner (murmur2 of the key's UTF-8 bytes, seed 0x9747b28c, made
 * positive, modulo the partition count), so records that other Kafka clients produce with the
 * same key land in the same partition too. Written here because it is 30 lines and kafkajs
 * keeps its copy private.
 */
const encoder = new TextEncoder();

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4]! & 0xff) |
      ((data[i4 + 1]! & 0xff) << 8) |
      ((data[i4 + 2]! & 0xff) << 16) |
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  const base = length & ~3;
  if (rest === 3) h ^= (data[base + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[base + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[base]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionFor(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`partition count must be >= 1, got ${partitions}`);
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
}
