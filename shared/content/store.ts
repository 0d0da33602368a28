/**
 * Message content store (X1: local files in the embedded mode; X2: S3-compatible object storage).
 * Ingress writes each accepted message once, durably, before the per-recipient records that point
 * to it are published; delivery reads it per attempt. Content is immutable once stored.
 */
import type { Readable } from "node:stream";

export interface StoredContent {
  /** Opaque reference carried in RecipientRecord.contentRef. */
  ref: string;
  size: number;
}

export interface ContentStore {
  /**
   * Streams `content` into the store under a new reference; resolves only once the bytes are
   * durable (a segment entry fdatasync'd; a file fsync'd and renamed into place, its directory
   * fsync'd; or the object PUT answered).
   * A failed or aborted write leaves nothing visible under any reference.
   */
  put(content: Readable | AsyncIterable<Uint8Array>, hint?: { messageId?: string }): Promise<StoredContent>;
  /** The stored bytes; rejects with ContentNotFoundError for an unknown or deleted reference. */
  get(ref: string): Promise<Readable>;
  /**
   * Removes content no record needs any more (X5: once every recipient of its message has a final
   * status); missing or malformed refs are ignored.
   */
  delete(ref: string): Promise<void>;
  /**
   * `delete` of several references at once, for the janitor's batches: one DeleteObjects request
   * per 1,000 keys in S3, one durable append of the segment log's deletions. Resolves once every
   * one is gone; rejects when any could not be removed (trying again is harmless).
   */
  deleteMany(refs: readonly string[]): Promise<void>;
  /** Bytes the store holds now (for the stored-bytes metric): files on disk, or objects in S3. */
  storedBytes(): Promise<number>;
  /** Releases descriptors and connections; the store is not used after it. */
  close(): Promise<void>;
}

export class ContentNotFoundError extends Error {
  override readonly name = "ContentNotFoundError";
  constructor(readonly ref: string) {
    super(`no stored content for ${ref}`);
  }
}
