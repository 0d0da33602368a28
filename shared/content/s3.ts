/**
 * The S3 content store (X2, cluster mode): each message is one object `<prefix>/<id>.<random>` in
 * an S3-compatible bucket — one PutObject for a message up to PART_BYTES, a multipart upload by
 * @aws-sdk/lib-storage's Upload above it, so memory stays bounded (about (QUEUE + 1) × PART_BYTES
 * per put) whatever the message size.
 *
 * - Durability (S11): `put` resolves only once S3 has answered the PutObject or the
 *   CompleteMultipartUpload; a source that fails mid-way aborts the multipart upload (lib-storage
 *   does) and nothing is visible under any key.
 * - Never overwrites: keys are unique (a random suffix) and every write is conditional
 *   (`If-None-Match: *`), so even a repeated key is refused by the server (412), not replaced.
 * - A reference is the object key itself, so it keeps naming its object if the prefix setting
 *   changes later; a missing object (404 NoSuchKey) is ContentNotFoundError.
 * - With `cacheBytes`, what this node stored lately is read back from memory (recent.ts): a node
 *   that delivers what it accepted makes one request per message (the PutObject) plus its share
 *   of a batched DeleteObjects.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { RecentContent } from "./recent.ts";
import { ContentNotFoundError, type ContentStore, type StoredContent } from "./store.ts";

export interface S3Settings {
  bucket: string;
  /** Endpoint URL of an S3-compatible server; unset = AWS for `region`. */
  endpoint?: string;
  region: string;
  /** Both or neither; neither = the SDK's default chain (AWS_* env, instance profile ...). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>` (most self-hosted servers). */
  forcePathStyle: boolean;
  /** Key prefix without slashes at the ends; "" = keys at the bucket's root. */
  prefix: string;
  /**
   * Bytes of recently stored messages kept in memory for this node's own deliveries
   * (recent.ts); 0 or unset = every get is a GetObject.
   */
  cacheBytes?: number;
}

/** Size of a multipart part (S3's minimum, 5 MiB); a message up to this size is one PutObject. */
const PART_BYTES = 5 * 1024 * 1024;
/** Parts in flight per put. */
const QUEUE = 2;
/** Ids usable in a key (ingress's message ids are Crockford base32). */
const ID = /^[A-Za-z0-9-]{4,64}$/;
/** Keys one DeleteObjects request may name (S3's limit). */
const DELETE_BATCH = 1000;
/** What a reference (an object key this store wrote) can look like; anything else is not found. */
const KEY = /^(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9-]{4,64}\.[0-9a-f]{12}$/;

export class S3ContentStore implements ContentStore {
  /** The server answered DeleteObjects with NotImplemented: delete one key per request. */
  private noBatchDelete = false;

  private constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    /** Messages this node stored lately (see S3Settings.cacheBytes). */
    private readonly recent?: RecentContent,
  ) {}

  static open(s: S3Settings): S3ContentStore {
    const client = new S3Client({
      region: s.region,
      endpoint: s.endpoint,
      forcePathStyle: s.forcePathStyle,
      credentials:
        s.accessKeyId && s.secretAccessKey
          ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey }
          : undefined,
    });
    const recent = s.cacheBytes ? new RecentContent(s.cacheBytes) : undefined;
    return new S3ContentStore(client, s.bucket, s.prefix, recent);
  }

  async put(
    content: Readable | AsyncIterable<Uint8Array>,
    hint?: { messageId?: string },
  ): Promise<StoredContent> {
    const id = hint?.messageId && ID.test(hint.messageId) ? hint.messageId : randomBytes(12).toString("hex");
    const key = `${this.prefix ? `${this.prefix}/` : ""}${id}.${randomBytes(6).toString("hex")}`;
    // Up to PART_BYTES are read first. A message that ends within them is one PutObjectCommand:
    // lib-storage's Upload makes the same single request but cost the node ~0.25 CPU-ms more per
    // message (measured against SeaweedFS, 5 KiB). A longer one goes on as a multipart Upload.
    const source = asBuffers(content)[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let size = 0;
    for (;;) {
      if (size >= PART_BYTES) return this.putLarge(key, head, size, source);
      const next = await source.next();
      if (next.done) break;
      head.push(next.value);
      size += next.value.length;
    }
    const body = Buffer.concat(head, size);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, IfNoneMatch: "*" }),
    );
    this.recent?.add(key, body);
    return { ref: key, size };
  }

  /** The multipart path: the chunks already read, then the rest of `source`. */
  private async putLarge(
    key: string,
    head: Buffer[],
    headBytes: number,
    source: AsyncIterator<Buffer>,
  ): Promise<StoredContent> {
    let size = headBytes;
    async function* all(): AsyncGenerator<Buffer> {
      try {
        yield* head;
        for (let next = await source.next(); !next.done; next = await source.next()) {
          size += next.value.length;
          yield next.value;
        }
      } finally {
        await source.return?.(); // an upload that failed early lets go of the source
      }
    }
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: Readable.from(all(), { objectMode: false }),
        IfNoneMatch: "*",
      },
      partSize: PART_BYTES,
      queueSize: QUEUE,
    });
    await upload.done();
    return { ref: key, size };
  }

  async get(ref: string): Promise<Readable> {
    if (!KEY.test(ref)) throw new ContentNotFoundError(ref);
    const recent = this.recent?.get(ref);
    if (recent) return Readable.from([recent]);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: ref }));
      const body = out.Body;
      if (body instanceof Readable) return body;
      if (!body) throw new ContentNotFoundError(ref);
      // other runtimes hand a web stream
      return Readable.fromWeb(body.transformToWebStream() as Parameters<typeof Readable.fromWeb>[0]);
    } catch (e) {
      if (e instanceof NoSuchKey || (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 404))
        throw new ContentNotFoundError(ref);
      throw e;
    }
  }

  /** S3 answers a delete of a missing key with success too, as the interface wants. */
  async delete(ref: string): Promise<void> {
    if (!KEY.test(ref)) return;
    this.recent?.delete(ref);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: ref }));
  }

  /**
   * One DeleteObjects request per 1,000 keys (quiet: only failures come back). A key that is
   * already gone is not a failure. A server without DeleteObjects (NotImplemented) gets one
   * DeleteObject per key from then on.
   */
  async deleteMany(refs: readonly string[]): Promise<void> {
    const keys = [...new Set(refs.filter((r) => KEY.test(r)))];
    for (const k of keys) this.recent?.delete(k);
    if (this.noBatchDelete) {
      await Promise.all(keys.map((k) => this.delete(k)));
      return;
    }
    for (let at = 0; at < keys.length; at += DELETE_BATCH) {
      const batch = keys.slice(at, at + DELETE_BATCH);
      let out: { Errors?: { Key?: string; Code?: string; Message?: string }[] };
      try {
        out = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      } catch (e) {
        if (!(e instanceof S3ServiceException && e.name === "NotImplemented")) throw e;
        this.noBatchDelete = true;
        await Promise.all(keys.slice(at).map((k) => this.delete(k)));
        return;
      }
      const failed = (out.Errors ?? []).filter((x) => x.Code !== "NoSuchKey");
      const first = failed[0];
      if (first)
        throw new Error(
          `S3 did not delete ${failed.length} of ${batch.length} objects; the first, ${first.Key}: ${first.Code} ${first.Message ?? ""}`.trim(),
        );
    }
  }

  /**
   * Bytes of every object under the prefix, the whole bucket's share of this relay (all nodes):
   * one LIST request per 1,000 objects, so a caller samples it (a metric), not per message.
   */
  async storedBytes(): Promise<number> {
    let total = 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix ? `${this.prefix}/` : undefined,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) total += o.Size ?? 0;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return total;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** `content`'s chunks as Buffers (a string chunk is encoded, a Uint8Array viewed, not copied). */
async function* asBuffers(content: Readable | AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const chunk of content as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === "string"
      ? Buffer.from(chunk)
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}
