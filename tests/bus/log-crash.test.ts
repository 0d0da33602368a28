/**
 * Crash acceptance of the embedded log: a child process publishes with fsync from several
 * concurrent publishers and prints a line per resolved publish; it is SIGKILLed at a random
 * moment, 20 times on the same directory. After every kill the log is reopened here and checked:
 * every acknowledged record is present with its payload, every frame on disk is valid (CRC,
 * framing, no trailing bytes after recovery) and offsets strictly increase in each partition.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { checkFrame, decodeFrame, encodeFrame, parseSegmentFileName } from "../../shared/bus/log/format.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import type { LogBusLogger } from "../../shared/bus/log/logger.ts";
import type { BusRecord } from "../../shared/bus/types.ts";
import { CRASH_PARTITIONS, CRASH_SEGMENT_BYTES, CRASH_TOPIC, payloadFor } from "./log-crash-child.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const childScript = join(here, "log-crash-child.ts");
const repoRoot = resolve(here, "../..");
const RUNS = 20;

interface Ack {
  partition: number;
  offset: number;
  id: string;
}

const dir = mkdtempSync(join(tmpdir(), "logbus-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child until it is killed `delayMs` after it said `ready`; returns its `ok` lines. */
async function runChild(
  run: number,
  delayMs: number,
): Promise<{ acks: Ack[]; signal: string | null; stderr: string }> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", childScript, dir, String(run)], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acks: Ack[] = [];
  let stderr = "";
  let buffered = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!; // an unterminated last line is not a complete acknowledgement
    for (const line of lines) {
      if (line === "ready") setTimeout(() => child.kill("SIGKILL"), delayMs);
      const m = /^ok (\d+) (\d+) (\S+)$/.exec(line);
      if (m) acks.push({ partition: Number(m[1]), offset: Number(m[2]), id: m[3]! });
    }
  });
  const safety = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const signal = await new Promise<string | null>((done) => child.on("exit", (_code, sig) => done(sig)));
  clearTimeout(safety);
  return { acks, signal, stderr };
}

function segmentFiles(p: number): string[] {
  const pdir = join(dir, "topics", CRASH_TOPIC, String(p));
  return readdirSync(pdir)
    .filter((n) => parseSegmentFileName(n) !== undefined)
    .sort()
    .map((n) => join(pdir, n));
}

const activeSegment = (p: number) => segmentFiles(p).at(-1)!;

/** Reads every segment file of a partition frame by frame, independently of the recovery code. */
function scanPartition(p: number): number {
  const offsets: number[] = [];
  for (const f of segmentFiles(p)) {
    const bytes = readFileSync(f);
    const base = parseSegmentFileName(basename(f))!;
    if (bytes.length > CRASH_SEGMENT_BYTES) throw new Error(`${f} is larger than the segment size`);
    let pos = 0;
    while (pos < bytes.length) {
      const check = checkFrame(bytes, pos, bytes.length);
      if (!check.ok) throw new Error(`invalid frame in ${f} at byte ${pos}: ${check.reason}`);
      if (check.offset < base || check.offset <= (offsets.at(-1) ?? -1)) {
        throw new Error(`offset ${check.offset} out of order in ${f} at byte ${pos}`);
      }
      // The CRC was checked; the record must also decode and name its payload.
      const r = decodeFrame(bytes, pos);
      if (!r.headers.id || r.value.length === 0) throw new Error(`record without id in ${f} at byte ${pos}`);
      offsets.push(check.offset);
      pos += check.size;
    }
  }
  return offsets.length;
}

describe("LogBus crash safety", () => {
  it(`keeps every acknowledged publish across ${RUNS} SIGKILLs`, { timeout: 120_000 }, async () => {
    const acked: Ack[] = [];
    const recoveries: string[] = [];
    const quiet: LogBusLogger = { info() {}, warn() {}, error() {} };
    for (let run = 0; run < RUNS; run++) {
      const delay = 50 + Math.floor(Math.random() * 350);
      const { acks, signal, stderr } = await runChild(run, delay);
      expect(signal, `run ${run} should die by SIGKILL, stderr:\n${stderr}`).toBe("SIGKILL");
      acked.push(...acks);
      // SIGKILL leaves whole writes in the page cache; a power cut can leave a torn or garbled
      // one. Every third run simulates that at the end of one partition (never-acknowledged bytes):
      // a random prefix of a frame, or a whole frame with a flipped byte.
      const torn = run % 3 === 2 ? Math.floor(run / 3) % CRASH_PARTITIONS : undefined;
      if (torn !== undefined) {
        const frame = encodeFrame(Number.MAX_SAFE_INTEGER, 0, "torn", { id: "torn" }, payloadFor("torn"));
        if (run % 2 === 0)
          appendFileSync(
            activeSegment(torn),
            frame.subarray(0, 1 + Math.floor(Math.random() * (frame.length - 1))),
          );
        else {
          frame[frame.length - 1 - Math.floor(Math.random() * 100)]! ^= 0x40;
          appendFileSync(activeSegment(torn), frame);
        }
      }
      const bus = await LogBus.open({ dir, maintenanceIntervalMs: 0, logger: quiet });
      try {
        for (const n of bus.recovery)
          recoveries.push(`run ${run}: ${n.segment} -${n.droppedBytes} B (${n.reason})`);
        // Every frame on disk is valid after recovery, offsets strictly increase.
        for (let p = 0; p < CRASH_PARTITIONS; p++) scanPartition(p);
        // Every acknowledged record is there, at its offset, with its payload.
        const stored = new Map<string, BusRecord>();
        const partitions = Array.from({ length: CRASH_PARTITIONS }, (_, p) => p);
        await bus.replay(CRASH_TOPIC, partitions, (r) => {
          stored.set(`${r.partition}:${r.offset}`, r);
        });
        for (const a of acked) {
          const r = stored.get(`${a.partition}:${a.offset}`);
          if (!r)
            throw new Error(`run ${run}: acknowledged ${a.id} at ${a.partition}:${a.offset} is missing`);
          if (r.headers.id !== a.id || !Buffer.from(r.value).equals(Buffer.from(payloadFor(a.id)))) {
            throw new Error(
              `run ${run}: ${a.partition}:${a.offset} holds ${r.headers.id}, not acknowledged ${a.id}`,
            );
          }
        }
        // Per key, records are in publish order (a publisher's sequence numbers increase).
        const lastSeq = new Map<string, number>();
        for (const r of [...stored.values()].sort(
          (x, y) => x.partition - y.partition || x.offset - y.offset,
        )) {
          const [seq, j] = r.headers
            .id!.slice(r.key.length + 1)
            .split("-")
            .map(Number);
          const order = seq! * 10 + j!;
          if (order <= (lastSeq.get(r.key) ?? -1))
            throw new Error(`run ${run}: ${r.headers.id} out of order`);
          lastSeq.set(r.key, order);
        }
      } finally {
        await bus.close();
      }
    }
    expect(acked.length).toBeGreaterThan(0);
    console.log(
      `[log-crash] ${RUNS} kills, ${acked.length} acknowledged records all present; recoveries: ${recoveries.length ? recoveries.join("; ") : "none"}`,
    );
  });
});
