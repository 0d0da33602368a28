/**
 * The content-store contract (S11, X1, X2, X5). Every store runs this same suite unchanged:
 * the local files (tests/content/local.test.ts) and S3 on a real SeaweedFS (tests/content/s3.test.ts).
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContentNotFoundError, type ContentStore } from "../../shared/content/store.ts";

export interface ContentFixture {
  store: ContentStore;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

async function bytes(store: ContentStore, ref: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await store.get(ref)) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

const message = (n: number, size = 3000) =>
  Buffer.from(`Subject: m${n}\r\n\r\n${`line ${n} `.repeat(size / 8)}`.slice(0, size), "latin1");

/** `total` bytes in 64 KiB chunks, each chunk's bytes derived from its index (no two alike). */
async function* stream(total: number, fail?: Error): AsyncGenerator<Uint8Array> {
  for (let at = 0, i = 0; at < total; i++) {
    const n = Math.min(64 * 1024, total - at);
    yield Buffer.alloc(n, i % 251);
    at += n;
  }
  if (fail) throw fail;
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
async function shaOfStream(total: number): Promise<string> {
  const h = createHash("sha256");
  for await (const c of stream(total)) h.update(c);
  return h.digest("hex");
}

export function contentContract(name: string, open: () => Promise<ContentFixture>) {
  describe(`content store contract: ${name}`, () => {
    let fx: ContentFixture;
    let store: ContentStore;
    beforeAll(async () => {
      fx = await open();
      store = fx.store;
    });
    afterAll(async () => {
      await fx?.cleanup();
    });

    it("gives back exactly the bytes it was given, from chunks of any shape", async () => {
      const body = message(1);
      const chunks = [body.subarray(0, 7), new Uint8Array(body.subarray(7, 500)), body.subarray(500)];
      const stored = await store.put(Readable.from(chunks), { messageId: "01JCONTRACT0001" });
      expect(stored.size).toBe(body.length);
      expect(await bytes(store, stored.ref)).toEqual(body);
      const empty = await store.put(Readable.from([]), { messageId: "01JCONTRACT0002" });
      expect(empty.size).toBe(0);
      expect((await bytes(store, empty.ref)).length).toBe(0);
    });

    it("keeps each of many concurrent puts under its own reference", async () => {
      const puts = await Promise.all(
        Array.from({ length: 40 }, (_, n) =>
          store.put(Readable.from([message(n, 1000 + n)]), {
            messageId: `01JCONCUR${String(n).padStart(4, "0")}`,
          }),
        ),
      );
      expect(new Set(puts.map((p) => p.ref)).size).toBe(40);
      const back = await Promise.all(puts.map((p) => bytes(store, p.ref)));
      back.forEach((b, n) => {
        expect(b).toEqual(message(n, 1000 + n));
      });
    });

    it("never overwrites: a second put with the same message id gets another reference", async () => {
      const a = await store.put(Readable.from([message(10)]), { messageId: "01JSAMEID000001" });
      const b = await store.put(Readable.from([message(11)]), { messageId: "01JSAMEID000001" });
      expect(b.ref).not.toBe(a.ref);
      expect(await bytes(store, a.ref)).toEqual(message(10));
      expect(await bytes(store, b.ref)).toEqual(message(11));
      // the same for messages too big to be held whole
      const size = 6 * MiB + 123;
      const c = await store.put(stream(size), { messageId: "01JSAMEBIG00001" });
      const d = await store.put(Readable.from([message(12)]), { messageId: "01JSAMEBIG00001" });
      expect(d.ref).not.toBe(c.ref);
      expect(sha(await bytes(store, c.ref))).toBe(await shaOfStream(size));
      expect(await bytes(store, d.ref)).toEqual(message(12));
    });

    it("streams a large message (several parts) and reads it back intact", async () => {
      const size = 13 * MiB + 4321;
      const stored = await store.put(stream(size), { messageId: "01JLARGE0000001" });
      expect(stored.size).toBe(size);
      const h = createHash("sha256");
      let got = 0;
      for await (const c of await store.get(stored.ref)) {
        h.update(c as Uint8Array);
        got += (c as Uint8Array).length;
      }
      expect(got).toBe(size);
      expect(h.digest("hex")).toBe(await shaOfStream(size));
    });

    it("holds a bounded part of a large message in memory while storing it", async () => {
      // One chunk yielded again and again: the source itself allocates nothing. Garbage the store
      // leaves between two collections counts too (V8 collects after ~64 MiB of external memory),
      // so the bound is loose — but a store that held the message whole would pass 160 MiB.
      const size = 160 * MiB;
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      const before = process.memoryUsage().arrayBuffers;
      let peak = 0;
      async function* watched() {
        for (let at = 0; at < size; at += chunk.length) {
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
          yield chunk;
        }
      }
      const stored = await store.put(watched(), { messageId: "01JBOUNDED00001" });
      expect(stored.size).toBe(size);
      expect(peak).toBeLessThan(100 * MiB);
      await store.delete(stored.ref);
    });

    it("a failed source leaves nothing stored, small or large", async () => {
      const before = await store.storedBytes();
      await expect(
        store.put(stream(2000, new Error("client went away")), { messageId: "01JFAILSMALL001" }),
      ).rejects.toThrow("client went away");
      await expect(
        store.put(stream(11 * MiB, new Error("client went away")), { messageId: "01JFAILLARGE001" }),
      ).rejects.toThrow("client went away");
      expect(await store.storedBytes()).toBe(before);
    });

    it("a reference it never gave out is not found", async () => {
      for (const bad of [
        "01JNEVERSTORED1",
        "content/01JNEVERSTORED1.0123456789ab",
        "../../etc/passwd",
        "x",
      ]) {
        const err = await store.get(bad).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ContentNotFoundError);
      }
    });

    it("delete removes the content; deleting again or an unknown reference is harmless", async () => {
      const keep = await store.put(Readable.from([message(20)]), { messageId: "01JDELKEEP00001" });
      const drop = await store.put(Readable.from([message(21)]), { messageId: "01JDELDROP00001" });
      await store.delete(drop.ref);
      await expect(store.get(drop.ref)).rejects.toBeInstanceOf(ContentNotFoundError);
      await store.delete(drop.ref);
      await store.delete("01JNEVERSTORED2");
      await store.delete("../../etc/passwd");
      expect(await bytes(store, keep.ref)).toEqual(message(20));
    });

    it("deleteMany removes each reference it names and nothing else; gone or unknown ones are harmless", async () => {
      const keep = await store.put(Readable.from([message(30)]), { messageId: "01JMANYKEEP0001" });
      const drop = await Promise.all(
        [31, 32, 33, 34].map((n) =>
          store.put(Readable.from([message(n)]), { messageId: `01JMANYDROP000${n}` }),
        ),
      );
      await store.delete(drop[0]!.ref); // already gone when the batch comes
      await store.deleteMany([
        ...drop.map((d) => d.ref),
        drop[1]!.ref,
        "01JNEVERSTORED3",
        "../../etc/passwd",
      ]);
      for (const d of drop) await expect(store.get(d.ref)).rejects.toBeInstanceOf(ContentNotFoundError);
      expect(await bytes(store, keep.ref)).toEqual(message(30));
      await store.deleteMany([]);
      expect(await bytes(store, keep.ref)).toEqual(message(30));
    });

    it("counts stored bytes: up by a put, down by its delete", async () => {
      const size = 3 * MiB + 17;
      const before = await store.storedBytes();
      const big = await store.put(stream(size), { messageId: "01JCOUNTED00001" });
      const during = await store.storedBytes();
      expect(during - before).toBeGreaterThanOrEqual(size);
      expect(during - before).toBeLessThan(size + 64 * 1024);
      await store.delete(big.ref);
      expect(await store.storedBytes()).toBe(before);
    });
  });
}
