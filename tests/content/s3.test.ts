/**
 * The content-store contract on S3 (X2), against a real SeaweedFS started for this file
 * (tests/helpers/seaweedfs.ts), plus what only S3 shows: multipart uploads left behind, the
 * conditional put, and the key layout.
 */

import { Readable } from "node:stream";
import {
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/load.ts";
import { openContentStore } from "../../shared/content/open.ts";
import { S3ContentStore } from "../../shared/content/s3.ts";
import { ContentNotFoundError } from "../../shared/content/store.ts";
import { requireSeaweed, type Seaweed, startSeaweed } from "../helpers/seaweedfs.ts";
import { contentContract } from "./store.case.ts";

const run = requireSeaweed("S3 content store (tests/content/s3.test.ts)");

let server: Seaweed | undefined;
const seaweed = async () => {
  server ??= await startSeaweed();
  return server;
};
afterAll(async () => {
  await server?.stop();
});

describe.runIf(run)("S3 content store on SeaweedFS", () => {
  contentContract("S3 (SeaweedFS)", async () => {
    const store = S3ContentStore.open((await seaweed()).settings);
    return { store, cleanup: () => store.close() };
  });
  contentContract("S3 (SeaweedFS) with the recent-content cache", async () => {
    const store = S3ContentStore.open({ ...(await seaweed()).settings, cacheBytes: 8 * 1024 * 1024 });
    return { store, cleanup: () => store.close() };
  });

  describe("the recent-content cache (PETREL_CONTENT_CACHE_MB)", () => {
    const read = async (store: S3ContentStore, ref: string) => {
      const parts: Buffer[] = [];
      for await (const c of await store.get(ref)) parts.push(Buffer.from(c as Uint8Array));
      return Buffer.concat(parts);
    };
    it("reads back what this store wrote without the server; a delete drops it; a large message is not kept", async () => {
      const s = (await seaweed()).settings;
      const cached = S3ContentStore.open({ ...s, cacheBytes: 1024 * 1024 });
      const plain = S3ContentStore.open(s);
      try {
        const small = Buffer.from(`Subject: kept\r\n\r\n${"k".repeat(4000)}\r\n`);
        const large = Buffer.alloc(200 * 1024, 0x6c); // over an eighth of 1 MiB
        const a = await cached.put(Readable.from([small.subarray(0, 10), small.subarray(10)]));
        const b = await cached.put(Readable.from([large]));
        // The objects are gone from the server (another node's janitor, say) ...
        await plain.deleteMany([a.ref, b.ref]);
        await expect(plain.get(a.ref)).rejects.toBeInstanceOf(ContentNotFoundError);
        // ... the small one is still read from memory, the large one was never kept.
        expect(await read(cached, a.ref)).toEqual(small);
        await expect(cached.get(b.ref)).rejects.toBeInstanceOf(ContentNotFoundError);
        // This store's own delete drops its copy.
        await cached.delete(a.ref);
        await expect(cached.get(a.ref)).rejects.toBeInstanceOf(ContentNotFoundError);
        const c = await cached.put(Readable.from([small]));
        await plain.delete(c.ref);
        await cached.deleteMany([c.ref]);
        await expect(cached.get(c.ref)).rejects.toBeInstanceOf(ContentNotFoundError);
      } finally {
        await cached.close();
        await plain.close();
      }
    });
  });

  describe("S3 specifics", () => {
    let store: S3ContentStore;
    let client: S3Client;
    let bucket: string;
    beforeAll(async () => {
      const s = (await seaweed()).settings;
      store = S3ContentStore.open({ ...s, prefix: "petrel/msgs" });
      bucket = s.bucket;
      client = new S3Client({
        endpoint: s.endpoint,
        region: s.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s.accessKeyId as string, secretAccessKey: s.secretAccessKey as string },
      });
    });
    afterAll(async () => {
      await store.close();
      client.destroy();
    });

    it("stores each message as one object <prefix>/<id>.<random>, the reference being its key", async () => {
      const p = await store.put(Readable.from([Buffer.from("hello")]), { messageId: "01JKEYLAYOUT001" });
      expect(p.ref).toMatch(/^petrel\/msgs\/01JKEYLAYOUT001\.[0-9a-f]{12}$/);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "petrel/msgs/" }));
      expect(listed.Contents?.map((o) => o.Key)).toContain(p.ref);
    });

    it("the server refuses a second write to a key (If-None-Match: *): nothing is overwritten", async () => {
      const p = await store.put(Readable.from([Buffer.from("first")]), { messageId: "01JCONDITIONAL1" });
      const err = await client
        .send(new PutObjectCommand({ Bucket: bucket, Key: p.ref, Body: "second", IfNoneMatch: "*" }))
        .catch((e: { $metadata?: { httpStatusCode?: number } }) => e);
      expect((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(412);
      const parts: Buffer[] = [];
      for await (const c of await store.get(p.ref)) parts.push(c as Buffer);
      expect(Buffer.concat(parts).toString()).toBe("first");
    });

    it("a large source that fails mid-way leaves no multipart upload open", async () => {
      async function* failing() {
        for (let i = 0; i < 50; i++) yield Buffer.alloc(256 * 1024, i);
        throw new Error("client went away");
      }
      await expect(store.put(failing(), { messageId: "01JABORTED00001" })).rejects.toThrow(
        "client went away",
      );
      const open = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: "petrel/msgs/" }),
      );
      expect(open.Uploads ?? []).toEqual([]);
    });

    it("openContentStore picks S3 from the PETREL_S3_* settings", async () => {
      const s = (await seaweed()).settings;
      const config = loadConfig({
        PETREL_S3_ENDPOINT: s.endpoint,
        PETREL_S3_BUCKET: s.bucket,
        PETREL_S3_ACCESS_KEY_ID: s.accessKeyId,
        PETREL_S3_SECRET_ACCESS_KEY: s.secretAccessKey,
        PETREL_S3_FORCE_PATH_STYLE: "true",
        PETREL_S3_PREFIX: "from-config",
      });
      const opened = await openContentStore(config, "/nonexistent-data-dir");
      expect(opened).toBeInstanceOf(S3ContentStore);
      const p = await opened.put(Readable.from([Buffer.from("via config")]), {
        messageId: "01JVIACONFIG001",
      });
      expect(p.ref).toMatch(/^from-config\/01JVIACONFIG001\./);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "from-config/" }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual([p.ref]);
      await opened.close();
    });

    it("a multipart upload the server refuses lets go of its source", async () => {
      const s = (await seaweed()).settings;
      const wrong = S3ContentStore.open({ ...s, secretAccessKey: "not-the-secret" });
      let released = false;
      async function* large() {
        try {
          for (let i = 0; i < 100; i++) yield Buffer.alloc(256 * 1024, i); // 25 MiB
        } finally {
          released = true;
        }
      }
      await expect(wrong.put(large())).rejects.toThrow();
      expect(released).toBe(true);
      await wrong.close();
    });

    it("a wrong secret is refused by the server (requests are signed)", async () => {
      const s = (await seaweed()).settings;
      const wrong = S3ContentStore.open({ ...s, secretAccessKey: "not-the-secret" });
      await expect(wrong.put(Readable.from([Buffer.from("x")]))).rejects.toThrow();
      await wrong.close();
    });
  });
});
