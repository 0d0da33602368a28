/**
 * The partitioner is Kafka's (shared/bus/partition.ts): the same partition as kafkajs's default
 * partitioner (the Java client's murmur2) for any key, ASCII or not — lone surrogates included,
 * which both sides encode as U+FFFD — so records other Kafka clients produce with a key meet
 * Petrel's actor of that key.
 */
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { murmur2, partitionFor } from "../../shared/bus/partition.ts";

const require = createRequire(import.meta.url);
const kafkaMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2.js") as (
  key: Buffer | string,
) => number;
const { Partitioners } = require("kafkajs") as {
  Partitioners: {
    DefaultPartitioner: () => (a: {
      topic: string;
      partitionMetadata: { partitionId: number; leader: number }[];
      message: { key: string };
    }) => number;
  };
};

function kafkaPartition(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
  }));
  return Partitioners.DefaultPartitioner()({ topic: "t", partitionMetadata, message: { key } });
}

describe("partitionFor", () => {
  it("puts every key where kafkajs's default partitioner puts it", () => {
    const keys = fc.oneof(
      fc.string({ unit: "grapheme-ascii", maxLength: 80 }),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.constantFrom("domain:example.com", "bench", "acct:é", "\ud800", "a\udc00b", "xn--bcher-kva.example"),
    );
    fc.assert(
      fc.property(keys, fc.integer({ min: 1, max: 64 }), (key, partitions) => {
        expect(partitionFor(key, partitions)).toBe(kafkaPartition(key, partitions));
      }),
      { numRuns: 3000 },
    );
  });

  it("murmur2 of bytes is the Java client's for every length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(murmur2(bytes)).toBe(kafkaMurmur2(Buffer.from(bytes)) | 0);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses a partition count that is not a positive integer", () => {
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => partitionFor("k", n)).toThrow(RangeError);
  });
});
