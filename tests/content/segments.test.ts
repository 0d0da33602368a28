/**
 * The local content store's two forms (S11, X1): small messages as entries of the group-committed
 * segment log, big ones as files of their own; restart, torn tails, forged references, deletes.
 * Real files in a temporary directory.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { LocalContentStore, SMALL_MAX } from "../../shared/content/local.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), "petrel-segments-"));
  dirs.push(d);
  return d;
};
const text = async (s: LocalContentStore, ref: string) => {
  const parts: Buffer[] = [];
  for await (const c of await s.get(ref)) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("latin1");
};
const body = (n: number, bytes = 5 * 1024) =>
  `Subject: m${n}\r\n\r\n${String(n)
    .padStart(8, "0")
    .repeat(bytes / 8)}`;

describe("content segments", () => {
  it("keeps every one of many concurrent small messages, each under its own reference", async () => {
    const store = await LocalContentStore.open(fresh());
    const puts = await Promise.all(
      Array.from({ length: 300 }, (_, n) =>
        store.put(Readable.from([Buffer.from(body(n).slice(0, 100)), Buffer.from(body(n).slice(100))]), {
          messageId: `MSG${String(n).padStart(4, "0")}`,
        }),
      ),
    );
    expect(new Set(puts.map((p) => p.ref)).size).toBe(300);
    for (const [n, p] of puts.entries()) {
      expect(p.ref.startsWith(`MSG${String(n).padStart(4, "0")}_`)).toBe(true);
      expect(p.size).toBe(body(n).length);
      expect(await text(store, p.ref)).toBe(body(n));
    }
    expect((await store.list()).sort()).toEqual(puts.map((p) => p.ref).sort());
  });

  it("reads old entries after a restart and never appends to a segment a crash may have torn", async () => {
    const dir = fresh();
    const a = await LocalContentStore.open(dir);
    const first = await a.put(Readable.from([Buffer.from(body(1))]), { messageId: "AAAA1" });
    // a crash mid-append: half an entry at the end of the segment
    const segDir = join(dir, "segments");
    const seg = readdirSync(segDir).filter((f) => f.endsWith(".seg"))[0] as string;
    appendFileSync(
      join(segDir, seg),
      Buffer.concat([Buffer.from("PTC1"), Buffer.from([0, 5]), Buffer.from("BBBB2")]),
    );
    const b = await LocalContentStore.open(dir);
    expect(await text(b, first.ref)).toBe(body(1));
    expect(await b.list()).toEqual([first.ref]); // the torn entry is not listed
    const second = await b.put(Readable.from([Buffer.from(body(2))]), { messageId: "CCCC3" });
    expect(
      readdirSync(segDir)
        .filter((f) => f.endsWith(".seg"))
        .sort(),
    ).toHaveLength(2);
    expect(second.ref.split("_")[1]).not.toBe(first.ref.split("_")[1]); // another segment
    expect(await text(b, second.ref)).toBe(body(2));
    expect((await b.list()).sort()).toEqual([first.ref, second.ref].sort());
  });

  it("refuses a reference whose entry is not there (forged id, offset or segment)", async () => {
    const store = await LocalContentStore.open(fresh());
    const p = await store.put(Readable.from([Buffer.from(body(7))]), { messageId: "REAL7" });
    const [id, seg, off, len] = p.ref.split("_") as [string, string, string, string];
    for (const bad of [
      `FAKE7_${seg}_${off}_${len}`,
      `${id}_${seg}_${(Number.parseInt(off, 36) + 1).toString(36)}_${len}`,
      `${id}_zz_${off}_${len}`,
      `${id}_${seg}_${off}_${(Number.parseInt(len, 36) + 10).toString(36)}`,
      `${id}_${seg}_${off}_zzzzzzzz`, // a length no entry can have: no allocation attempted
    ])
      await expect(store.get(bad)).rejects.toThrow(/no stored content/);
  });

  it("a deleted entry stays deleted across a restart", async () => {
    const dir = fresh();
    const a = await LocalContentStore.open(dir);
    const keep = await a.put(Readable.from([Buffer.from("keep")]), { messageId: "KEEP1" });
    const drop = await a.put(Readable.from([Buffer.from("drop")]), { messageId: "DROP1" });
    await a.delete(drop.ref);
    await expect(a.get(drop.ref)).rejects.toThrow(/no stored content/);
    const b = await LocalContentStore.open(dir);
    await expect(b.get(drop.ref)).rejects.toThrow(/no stored content/);
    expect(await b.list()).toEqual([keep.ref]);
  });

  it("starts a new segment once the active one is full", async () => {
    const dir = fresh();
    const store = await LocalContentStore.open(dir, { segmentBytes: 20_000 });
    const refs: string[] = [];
    for (let n = 0; n < 12; n++)
      refs.push((await store.put(Readable.from([Buffer.from(body(n))]), { messageId: `ROLL${n}` })).ref);
    const segs = readdirSync(join(dir, "segments")).filter((f) => f.endsWith(".seg"));
    expect(segs.length).toBeGreaterThanOrEqual(3);
    for (const f of segs) expect(statSync(join(dir, "segments", f)).size).toBeLessThan(20_000 + 6 * 1024);
    for (const [n, r] of refs.entries()) expect(await text(store, r)).toBe(body(n));
  });

  it("reads from more segments than it keeps open, concurrently, every entry intact", async () => {
    const store = await LocalContentStore.open(fresh(), { segmentBytes: 1 });
    const refs: string[] = [];
    for (let n = 0; n < 40; n++)
      refs.push((await store.put(Readable.from([Buffer.from(body(n, 512))]), { messageId: `MANY${n}` })).ref);
    expect(new Set(refs.map((r) => r.split("_")[1])).size).toBe(40); // one segment each
    for (let round = 0; round < 2; round++) {
      const texts = await Promise.all(refs.map((r) => text(store, r)));
      texts.forEach((t, n) => {
        expect(t).toBe(body(n, 512));
      });
    }
  });

  it("a message over SMALL_MAX streams to a file of its own; a failed one leaves nothing", async () => {
    const dir = fresh();
    const store = await LocalContentStore.open(dir);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const count = Math.ceil(SMALL_MAX / chunk.length) + 3;
    const big = await store.put(Readable.from(Array.from({ length: count }, () => chunk)), {
      messageId: "BIGMSG01",
    });
    expect(big.ref).toMatch(/^BIGMSG01-[0-9a-f]{8}$/);
    expect(big.size).toBe(count * chunk.length);
    expect((await text(store, big.ref)).length).toBe(count * chunk.length);
    async function* failing() {
      for (let i = 0; i < count; i++) yield chunk;
      throw new Error("client went away");
    }
    await expect(store.put(failing(), { messageId: "BIGMSG02" })).rejects.toThrow("client went away");
    async function* failingSmall() {
      yield Buffer.from("partial");
      throw new Error("client went away");
    }
    await expect(store.put(failingSmall(), { messageId: "SMALL02" })).rejects.toThrow("client went away");
    expect(await store.list()).toEqual([big.ref]);
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
  });
});

describe("content segments: space comes back (X5)", () => {
  const segFiles = (dir: string) =>
    readdirSync(join(dir, "segments"))
      .filter((f) => f.endsWith(".seg"))
      .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  const segOf = (ref: string) => Number.parseInt(ref.split("_")[1] as string, 36);
  const deletedLines = (dir: string) =>
    readFileSync(join(dir, "segments", "deleted"), "utf8")
      .split("\n")
      .filter(Boolean);

  async function filled(dir: string, n = 12) {
    const store = await LocalContentStore.open(dir, { segmentBytes: 20_000 });
    const refs: string[] = [];
    for (let i = 0; i < n; i++)
      refs.push((await store.put(Readable.from([Buffer.from(body(i))]), { messageId: `GONE${i}` })).ref);
    return { store, refs };
  }

  it("removes a segment once every entry in it is deleted, and only then", async () => {
    const dir = fresh();
    const { store, refs } = await filled(dir);
    const first = segOf(refs[0] as string);
    const inFirst = refs.filter((r) => segOf(r) === first);
    expect(inFirst.length).toBeGreaterThan(1);
    const firstBytes = statSync(join(dir, "segments", `${first}.seg`)).size;
    const before = await store.storedBytes();
    for (const r of inFirst.slice(0, -1)) await store.delete(r);
    expect(segFiles(dir)).toContain(`${first}.seg`); // one entry still needed
    expect(await store.storedBytes()).toBe(before);
    await store.delete(inFirst.at(-1) as string);
    expect(segFiles(dir)).not.toContain(`${first}.seg`);
    expect(await store.storedBytes()).toBe(before - firstBytes);
    expect(deletedLines(dir).filter((l) => segOf(l) === first)).toEqual([]);
    for (const r of inFirst) await expect(store.get(r)).rejects.toThrow(/no stored content/);
    for (const [i, r] of refs.entries()) if (!inFirst.includes(r)) expect(await text(store, r)).toBe(body(i));
    await store.close();
  });

  it("keeps the active segment, and removes it after a restart once it is all deleted", async () => {
    const dir = fresh();
    const { store, refs } = await filled(dir, 2); // both in the first (active) segment
    for (const r of refs) await store.delete(r);
    expect(segFiles(dir)).toEqual(["1.seg"]);
    await store.close();
    const again = await LocalContentStore.open(dir, { segmentBytes: 20_000 });
    expect(segFiles(dir)).toEqual(["2.seg"]); // numbers go on: a reference never names a reused segment
    expect(deletedLines(dir)).toEqual([]);
    const next = await again.put(Readable.from([Buffer.from(body(3))]), { messageId: "NEXT3" });
    expect(segOf(next.ref)).toBe(2);
    expect(await again.storedBytes()).toBe(statSync(join(dir, "segments", "2.seg")).size);
    await again.close();
  });

  it("a reference naming no real entry is not counted: a forged delete never empties a segment", async () => {
    const dir = fresh();
    const { store, refs } = await filled(dir);
    const first = segOf(refs[0] as string);
    const inFirst = refs.filter((r) => segOf(r) === first);
    const [id, seg, off, len] = (inFirst[0] as string).split("_") as [string, string, string, string];
    // the same entry's bytes claimed again under other names, then all but one real entry deleted
    for (const forged of [
      `FORGED_${seg}_${off}_${len}`,
      `${id}_${seg}_${off}_${(Number.parseInt(len, 36) * 3).toString(36)}`,
      `${id}_${seg}_${(Number.parseInt(off, 36) + 1).toString(36)}_${len}`,
    ])
      await store.delete(forged);
    for (const r of inFirst.slice(1)) await store.delete(r);
    expect(segFiles(dir)).toContain(`${first}.seg`);
    expect(await text(store, inFirst[0] as string)).toBe(body(0));
    await store.close();
  });

  it("finishes a segment begun before a restart, torn tail and all", async () => {
    const dir = fresh();
    const { store, refs } = await filled(dir);
    const first = segOf(refs[0] as string);
    const inFirst = refs.filter((r) => segOf(r) === first);
    await store.delete(inFirst[0] as string);
    await store.close();
    // a crash had torn an entry at the end of that segment
    appendFileSync(join(dir, "segments", `${first}.seg`), Buffer.from("PTC1\u0000\u0005TORN"));
    const again = await LocalContentStore.open(dir, { segmentBytes: 20_000 });
    await expect(again.get(inFirst[0] as string)).rejects.toThrow(/no stored content/);
    for (const r of inFirst.slice(1)) await again.delete(r);
    expect(segFiles(dir)).not.toContain(`${first}.seg`);
    await again.close();
  });

  it("many concurrent deletes: every segment but the active one goes, the rest of the bytes stay right", async () => {
    const dir = fresh();
    const store = await LocalContentStore.open(dir, { segmentBytes: 50_000 });
    const puts = await Promise.all(
      Array.from({ length: 200 }, (_, n) =>
        store.put(Readable.from([Buffer.from(body(n, 1024))]), { messageId: `CONC${n}` }),
      ),
    );
    const active = Math.max(...puts.map((p) => segOf(p.ref)));
    await Promise.all(puts.map((p) => store.delete(p.ref)));
    expect(segFiles(dir)).toEqual([`${active}.seg`]);
    expect(await store.storedBytes()).toBe(statSync(join(dir, "segments", `${active}.seg`)).size);
    expect(await store.list()).toEqual([]);
    await store.close();
  });
});
