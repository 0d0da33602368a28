/**
 * The block bookkeeping shared by the session credit and the client gate (ingress/slot-block.ts),
 * against literal tables: spare slots while an ask is in flight, the local grant and give-back, what
 * an answer or a failed ask leaves, the local lease end, and which weight a block with no one
 * waiting asks for (idle hand-back, renewal, forced either way).
 */
import { describe, expect, it } from "vitest";
import {
  answered,
  emptyBlock,
  giveBack,
  localUntil,
  renewEvery,
  type SlotBlock,
  spare,
  sweepEvery,
  take,
  unanswered,
  upkeep,
} from "../../ingress/slot-block.ts";

const block = (o: Partial<SlotBlock>): SlotBlock => ({ ...emptyBlock(0), ...o });
const T = { ttlMs: 60_000, idleMs: 2_000 };

describe("slot blocks", () => {
  it.each<[string, Partial<SlotBlock>, number, boolean, boolean, Partial<SlotBlock>]>([
    // what, block, now, fresh, taken, block after
    [
      "a spare slot, lease valid",
      { granted: 2, inUse: 1, until: 500 },
      100,
      false,
      true,
      { inUse: 2, lastUse: 100 },
    ],
    ["none spare", { granted: 2, inUse: 2, until: 500 }, 100, false, false, { inUse: 2, lastUse: 0 }],
    ["lease may have lapsed", { granted: 2, inUse: 1, until: 100 }, 100, false, false, { inUse: 1 }],
    ["lapsed, but just answered", { granted: 2, inUse: 1, until: 100 }, 100, true, true, { inUse: 2 }],
    ["a shrink in flight", { granted: 3, inUse: 1, until: 500, target: 1 }, 100, false, false, { inUse: 1 }],
  ])("take: %s", (_what, b, now, fresh, taken, after) => {
    const x = block(b);
    expect(take(x, now, fresh)).toBe(taken);
    expect(x).toMatchObject(after);
  });

  it("giveBack counts one down and notes the time; with none in use it does nothing", () => {
    const x = block({ granted: 2, inUse: 1 });
    expect(giveBack(x, 50)).toBe(true);
    expect(x).toMatchObject({ inUse: 0, lastUse: 50 });
    expect(giveBack(x, 60)).toBe(false);
    expect(x).toMatchObject({ inUse: 0, lastUse: 50 });
  });

  it("an answer sets the weight and the lease from the ask's send time; a failed ask keeps the smaller weight", () => {
    const x = block({ granted: 3, target: 5 });
    answered(x, 4, 1_000, 60_000);
    expect(x).toEqual(block({ granted: 4, askedAt: 1_000, until: localUntil(1_000, 60_000) }));
    x.target = 1;
    unanswered(x, 1);
    expect(x.granted).toBe(1);
    expect(x.target).toBeUndefined();
    x.target = 6;
    unanswered(x, 6);
    expect(x.granted).toBe(1);
  });

  it.each<[string, Partial<SlotBlock>, number]>([
    ["none granted", {}, 0],
    ["two of three in use", { granted: 3, inUse: 2 }, 1],
    ["a growth in flight grants from what is held", { granted: 3, inUse: 2, target: 5 }, 1],
    ["a shrink in flight grants nothing it takes away", { granted: 3, inUse: 1, target: 1 }, 0],
    ["more in use than granted (a lapsed lease re-granted less)", { granted: 1, inUse: 2 }, -1],
  ])("spare: %s", (_what, b, n) => {
    expect(spare(block(b))).toBe(n);
  });

  it.each<[number, number, number, number]>([
    // ttl, renew every, local end after an ask at 100, sweep every (idle 2 s)
    [60_000, 20_000, 59_100, 1_000],
    [3_000, 1_000, 2_800, 1_000],
    [1_000, 500, 1_000, 500],
  ])(
    "a lease of %i ms: renewed every %i, used locally until %i, swept every %i",
    (ttlMs, renew, until, sweep) => {
      expect([renewEvery(ttlMs), localUntil(100, ttlMs), sweepEvery({ ttlMs, idleMs: 2_000 })]).toEqual([
        renew,
        until,
        sweep,
      ]);
    },
  );

  it.each<[string, Partial<SlotBlock>, number, { shrink?: boolean; renew?: boolean }, number | undefined]>([
    ["nothing held", {}, 50_000, {}, undefined],
    [
      "a spare slot idle for less than idleMs",
      { granted: 2, inUse: 1, lastUse: 1_000 },
      2_999,
      {},
      undefined,
    ],
    ["a spare slot idle for idleMs goes back", { granted: 2, inUse: 1, lastUse: 1_000 }, 3_000, {}, 1],
    ["a shrink asked for now", { granted: 2, inUse: 1, lastUse: 1_000 }, 1_000, { shrink: true }, 1],
    ["all in use, renewal not due", { granted: 2, inUse: 2 }, 19_999, {}, undefined],
    ["renewal due at a third of the lease, with its weight", { granted: 2, inUse: 2 }, 20_000, {}, 2],
    ["renewal of a block with more in use than granted", { granted: 1, inUse: 2 }, 20_000, {}, 2],
    ["a renewal asked for now (an AUTH's question)", { granted: 2, inUse: 2 }, 1, { renew: true }, 2],
    ["asked for now with nothing held: an ask of 0", {}, 1, { renew: true }, 0],
  ])("upkeep: %s", (_what, b, now, force, want) => {
    expect(upkeep(block(b), now, T, force)).toBe(want);
  });
});
