/**
 * Issue 17: nothing half-written is visible after ENOSPC. On a real 1 MiB tmpfs the embedded log
 * and the content segment log are filled until a write fails: the failed append is refused, the
 * file is cut back to its last complete frame or entry (no torn tail on disk), appending resumes
 * without a restart once space is freed, and the log reopened finds nothing to cut and reads every
 * acknowledged frame.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { SegmentLog } from "../../shared/content/segments.ts";
import { canMountTmpfs, mountTmpfs } from "../helpers/mounts.ts";

const SUITE = "ENOSPC on a 1 MiB tmpfs";
const available = canMountTmpfs(SUITE);
const ENTRY = 40_000;

describe.skipIf(!available)(SUITE, () => {
  let dir = "";
  let unmount: () => Promise<void> = async () => {};

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "petrel-enospc-"));
    unmount = (await mountTmpfs(dir, 1024 * 1024)).unmount;
    // space to give back later
    writeFileSync(join(dir, "ballast"), Buffer.alloc(256 * 1024));
  });
  afterEach(async () => {
    await unmount();
    rmSync(dir, { recursive: true, force: true });
  });

  it("log: the publish that meets a full disk is refused and cut back; publishing resumes; reopened, every frame reads", async () => {
    const busDir = join(dir, "bus");
    const bus = await LogBus.open({ dir: busDir, maintenanceIntervalMs: 0 });
    let acked: string[];
    try {
      acked = await fillLog(bus, join(dir, "ballast"));
    } finally {
      await bus.close();
    }
    const again = await LogBus.open({ dir: busDir, maintenanceIntervalMs: 0 });
    try {
      expect(again.recovery).toEqual([]);
      const keys: string[] = [];
      await again.replay("t", [0], (r) => keys.push(r.key));
      expect(keys).toEqual(acked);
    } finally {
      await again.close();
    }
  });

  it("content segments: the entry that meets a full disk is refused and cut back; appends resume; every reference reads", async () => {
    const segDir = join(dir, "segments");
    const log = await SegmentLog.open(segDir);
    try {
      await fillSegments(log, segDir);
    } finally {
      await log.close();
    }
  });
});

/** Fills the tmpfs with entries until one is refused, then frees space and appends again. */
async function fillSegments(log: SegmentLog, segDir: string): Promise<void> {
  const refs: string[] = [];
  let refused: unknown;
  for (let i = 0; i < 100 && !refused; i++) {
    try {
      refs.push(await log.append(`m${i}`, randomBytes(ENTRY)));
    } catch (e) {
      refused = e;
    }
  }
  expect(refused, "the disk never filled").toBeDefined();
  expect(refs.length).toBeGreaterThan(3);
  // the active segment ends where the last acknowledged entry ends: no torn entry after it
  const last = refs[refs.length - 1] as string;
  const [, seg, off] = last.split("_") as [string, string, string, string];
  const end = Number.parseInt(off, 36) + 4 + 2 + `m${refs.length - 1}`.length + 4 + ENTRY;
  const segs = (await readdir(segDir)).filter((f) => f.endsWith(".seg"));
  expect(segs).toEqual([`${Number.parseInt(seg, 36)}.seg`]);
  expect(statSync(join(segDir, segs[0] as string)).size).toBe(end);

  await rm(join(segDir, "..", "ballast"));
  refs.push(await log.append("after", randomBytes(ENTRY)));
  for (const ref of refs) expect((await log.read(ref)).length).toBe(ENTRY);
  expect((await log.list()).sort()).toEqual([...refs].sort());
}

/** Publishes until a publish is refused, frees space, publishes once more; the keys acknowledged. */
async function fillLog(bus: LogBus, ballast: string): Promise<string[]> {
  await bus.ensureTopics([{ name: "t", partitions: 1 }]);
  const acked: string[] = [];
  let refused: unknown;
  for (let i = 0; i < 100 && !refused; i++) {
    try {
      await bus.publish("t", [{ key: `k${i}`, value: randomBytes(ENTRY) }]);
      acked.push(`k${i}`);
    } catch (e) {
      refused = e;
    }
  }
  expect(refused, "the disk never filled").toBeDefined();
  expect(acked.length).toBeGreaterThan(3);
  await rm(ballast);
  await bus.publish("t", [{ key: "after", value: randomBytes(ENTRY) }]);
  acked.push("after");
  return acked;
}
