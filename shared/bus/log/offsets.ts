/**
 * Committed offsets of every consumer group: `<dir>/offsets.json`, `{ group: { topic: { partition:
 * offset } } }`, replaced atomically (tmp + fsync + rename + fsync dir) on every change.
 * Concurrent commits are coalesced: each write covers every change made before it started, and a
 * commit resolves once a write that covers it has completed (group commit, like the log's).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { atomicWriteFile, isNotFound, unlinkIfExists } from "./fsutil.ts";

export interface OffsetEntry {
  topic: string;
  partition: number;
  offset: number;
}

type Offsets = Map<string, Map<string, Map<number, number>>>;

export class OffsetStore {
  private readonly offsets: Offsets = new Map();
  private version = 0;
  private writtenVersion = 0;
  private writing = false;
  private waiters: { version: number; resolve(): void; reject(e: unknown): void }[] = [];
  private failed: Error | undefined;
  private readonly path: string;
  /** Called after a write made commits durable, with the topics they touched. */
  onDurable: ((topics: Set<string>) => void) | undefined;
  private touched = new Set<string>();

  private constructor(
    dir: string,
    private readonly fsync: boolean,
  ) {
    this.path = join(dir, "offsets.json");
  }

  static async open(dir: string, fsync: boolean): Promise<OffsetStore> {
    const store = new OffsetStore(dir, fsync);
    await unlinkIfExists(`${store.path}.tmp`);
    let text: string | undefined;
    try {
      text = await readFile(store.path, "utf8");
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (text !== undefined) {
      const data = JSON.parse(text) as Record<string, Record<string, Record<string, number>>>;
      for (const [group, topics] of Object.entries(data)) {
        const g = new Map<string, Map<number, number>>();
        for (const [topic, parts] of Object.entries(topics)) {
          g.set(topic, new Map(Object.entries(parts).map(([p, o]) => [Number(p), o])));
        }
        store.offsets.set(group, g);
      }
    }
    return store;
  }

  get(group: string, topic: string, partition: number): number | undefined {
    return this.offsets.get(group)?.get(topic)?.get(partition);
  }

  /** The committed offsets of every group that has committed on `topic`: group → partition → offset. */
  groupsOf(topic: string): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>();
    for (const [group, topics] of this.offsets) {
      const parts = topics.get(topic);
      if (parts && parts.size > 0) out.set(group, parts);
    }
    return out;
  }

  /** Sets the offsets (visible at once) and resolves when they are durable. */
  commit(group: string, entries: OffsetEntry[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (entries.length === 0) return Promise.resolve();
    for (const { offset } of entries) {
      if (!Number.isSafeInteger(offset) || offset < 0)
        return Promise.reject(new RangeError(`bad offset ${offset}`));
    }
    let g = this.offsets.get(group);
    if (!g) {
      g = new Map();
      this.offsets.set(group, g);
    }
    for (const { topic, partition, offset } of entries) {
      let t = g.get(topic);
      if (!t) {
        t = new Map();
        g.set(topic, t);
      }
      t.set(partition, offset);
      this.touched.add(topic);
    }
    const version = ++this.version;
    return new Promise((resolve, reject) => {
      this.waiters.push({ version, resolve, reject });
      if (!this.writing) void this.writeLoop();
    });
  }

  private serialize(): string {
    const data: Record<string, Record<string, Record<string, number>>> = {};
    for (const [group, topics] of this.offsets) {
      const g: Record<string, Record<string, number>> = {};
      for (const [topic, parts] of topics) g[topic] = Object.fromEntries(parts);
      data[group] = g;
    }
    return JSON.stringify(data);
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.writtenVersion < this.version) {
        const version = this.version;
        const touched = this.touched;
        this.touched = new Set();
        try {
          await atomicWriteFile(this.path, this.serialize(), this.fsync);
        } catch (e) {
          this.failed = new Error("writing committed offsets failed", { cause: e });
          for (const w of this.waiters.splice(0)) w.reject(this.failed);
          return;
        }
        this.writtenVersion = version;
        const done = this.waiters.filter((w) => w.version <= version);
        this.waiters = this.waiters.filter((w) => w.version > version);
        for (const w of done) w.resolve();
        this.onDurable?.(touched);
      }
    } finally {
      this.writing = false;
    }
  }

  /** Resolves when every commit made so far is durable. */
  async flush(): Promise<void> {
    if (this.writtenVersion >= this.version) return;
    const version = this.version;
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({ version, resolve, reject });
      if (!this.writing) void this.writeLoop();
    });
  }
}
