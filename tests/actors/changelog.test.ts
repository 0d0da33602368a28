/**
 * Changelog deltas for behaviors with tables (actors/changelog.ts, actors/table.ts), on the
 * embedded log: a turn writes what it changed, not the whole table; a restart restores exactly
 * (full snapshot + its deltas, across many full snapshots and restarts, timers included); a
 * transition that throws after writing a row leaves no trace, in memory or on the changelog.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseChangelogKey } from "../../actors/changelog.ts";
import { ManualClock } from "../../actors/clock.ts";
import { ActorError } from "../../actors/errors.ts";
import { actorKey } from "../../actors/keys.ts";
import { ActorSystem } from "../../actors/system.ts";
import { stateTopic } from "../../actors/topics.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { partitionFor } from "../../shared/bus/partition.ts";
import type { BusRecord } from "../../shared/bus/types.ts";
import { waitFor } from "../helpers/wait.ts";
import { type LedgerMsg, type LedgerView, ledgerBehavior } from "./ledger.ts";

const PARTITIONS = 4;
const T0 = Date.UTC(2026, 5, 1);
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function node(dir: string, clock = new ManualClock(T0)) {
  const bus = await LogBus.open({ dir });
  const system = new ActorSystem({ bus, nodeId: "local", clock, partitions: PARTITIONS, localAsk: true });
  system.register(ledgerBehavior());
  await system.start();
  await waitFor(() => system.ownedPartitions("ledger").length === PARTITIONS, { what: "all partitions" });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await system.stop();
    await bus.close();
  };
  cleanups.push(stop);
  return { system, bus, stop };
}

function tempDir() {
  const d = mkdtempSync(join(tmpdir(), "petrel-changelog-"));
  dirs.push(d);
  return d;
}

async function changelog(bus: LogBus, key: string): Promise<BusRecord[]> {
  const out: BusRecord[] = [];
  await bus.replay(stateTopic("ledger"), [partitionFor(key, PARTITIONS)], (r) => {
    if (parseChangelogKey(r.key).actorKey === key) out.push(r);
  });
  return out;
}

/** What the ledger should hold after `ops`, computed apart from the runtime. */
class Model {
  turns = 0;
  rows = new Map<string, string>();
  timers = new Map<string, number>();
  apply(m: LedgerMsg): void {
    this.turns++; // every message but `get` counts (the ledger's own count)
    if (m.t === "put") this.rows.set(m.id, m.v);
    else if (m.t === "del") this.rows.delete(m.id);
    else if (m.t === "arm") this.timers.set(m.name, m.at);
    else if (m.t === "disarm") this.timers.delete(m.name);
  }
  view(): Omit<LedgerView, "rows"> & { rows: [string, string][] } {
    return {
      turns: this.turns,
      rows: [...this.rows].sort(),
      timers: [...this.timers].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    };
  }
}

const sorted = (v: LedgerView) => ({ ...v, rows: [...v.rows].sort() });

describe("actor changelog deltas", () => {
  it("writes what a turn changed, not the whole table", async () => {
    const { system, bus } = await node(tempDir());
    const key = actorKey("ledger", "big");
    const wide = "x".repeat(200);
    for (let i = 0; i < 2_000; i++) await system.ask(key, { t: "put", id: `r${i}`, v: wide });
    await system.ask(key, { t: "put", id: "r1", v: "small change" });
    const records = await changelog(bus, key);
    const last = records.at(-1) as BusRecord;
    expect(parseChangelogKey(last.key).delta).toBe(true);
    // The table is ~450 KB of JSON; the turn that changed one row wrote a few hundred bytes.
    expect(last.value.length).toBeLessThan(1_000);
    const fulls = records.filter((r) => !parseChangelogKey(r.key).delta);
    const largest = Math.max(...fulls.map((r) => r.value.length));
    expect(largest).toBeGreaterThan(250_000); // a full written when the table was most of its size
    // Full snapshots come back only as often as their own weight in deltas: a handful, not 2,001.
    expect(fulls.length).toBeGreaterThan(1);
    expect(fulls.length).toBeLessThan(30);
  });

  it("restores exactly from the full snapshot and its deltas, across many fulls and restarts", async () => {
    const dir = tempDir();
    const key = actorKey("ledger", "restore");
    const model = new Model();
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const op = (): LedgerMsg => {
      const id = `r${rand(60)}`;
      switch (rand(5)) {
        case 0:
          return { t: "del", id };
        case 1:
          return { t: "arm", name: `t${rand(20)}`, at: T0 + 3_600_000 + rand(1_000) };
        case 2:
          return { t: "disarm", name: `t${rand(20)}` };
        default:
          return { t: "put", id, v: `v${rand(1_000_000)}`.repeat(1 + rand(200)) };
      }
    };
    // Rows of ~700 bytes: a full snapshot comes back every ~100 turns (its 64 KiB delta budget).
    for (const turns of [340, 3, 530]) {
      const n = await node(dir);
      expect(sorted(await n.system.ask<LedgerView>(key, { t: "get" }))).toEqual(model.view());
      for (let i = 0; i < turns; i++) {
        const m = op();
        model.apply(m);
        await n.system.ask(key, m);
      }
      expect(sorted(await n.system.ask<LedgerView>(key, { t: "get" }))).toEqual(model.view());
      await n.stop();
    }
    const n = await node(dir);
    const records = await changelog(n.bus, key);
    // Compaction may drop superseded records: what is left still holds several fulls and deltas.
    expect(records.filter((r) => parseChangelogKey(r.key).delta).length).toBeGreaterThan(50);
    expect(records.filter((r) => !parseChangelogKey(r.key).delta).length).toBeGreaterThan(2);
    expect(sorted(await n.system.ask<LedgerView>(key, { t: "get" }))).toEqual(model.view());
  });

  it("a read-only message writes nothing to the changelog, and its answer still comes", async () => {
    const { system, bus } = await node(tempDir());
    const key = actorKey("ledger", "reads");
    await system.ask(key, { t: "put", id: "r1", v: "one" });
    const before = (await changelog(bus, key)).length;
    for (let i = 0; i < 10; i++) {
      const v = await system.ask<LedgerView>(key, { t: "get" });
      expect(v.rows).toEqual([["r1", "one"]]);
    }
    expect((await changelog(bus, key)).length).toBe(before);
    await system.ask(key, { t: "put", id: "r2", v: "two" }); // a change is written again
    expect((await changelog(bus, key)).length).toBe(before + 1);
  });

  it("a transition that throws after writing a row leaves no trace, in memory or after a restart", async () => {
    const dir = tempDir();
    const key = actorKey("ledger", "rollback");
    const first = await node(dir);
    for (let i = 0; i < 3; i++) await first.system.ask(key, { t: "put", id: `r${i}`, v: "kept" });
    await expect(first.system.ask(key, { t: "putThenFail", id: "r9" })).rejects.toBeInstanceOf(ActorError);
    await first.system.ask(key, { t: "put", id: "r3", v: "kept" }); // a later delta must not carry r9
    const view = await first.system.ask<LedgerView>(key, { t: "get" });
    expect(view.rows.map(([id]) => id)).toEqual(["r0", "r1", "r2", "r3"]);
    await first.stop();
    const second = await node(dir);
    const again = await second.system.ask<LedgerView>(key, { t: "get" });
    expect(again.rows.map(([id]) => id)).toEqual(["r0", "r1", "r2", "r3"]);
  });
});
