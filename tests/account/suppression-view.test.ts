/**
 * S9 from the local suppression view (issue 16): on a real LogBus and ActorSystem, the suppression
 * actor publishes its list on the `suppressions` topic, the node's SuppressionView folds it, and
 * SuppressionCheck answers from the view — asking the actor only for an account whose list the
 * view does not hold yet. An address the service acknowledged is suppressed at the very next check
 * (the read barrier), and a removed one is not.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SuppressionCheck } from "../../actors/account/suppression-check.ts";
import { SuppressionView } from "../../shared/suppression/view.ts";
import { startNode, tempDir } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function setup() {
  const n = await startNode(tempDir(cleanups));
  cleanups.push(() => n.stop());
  const view = new SuppressionView({ bus: n.bus, nodeId: "local" });
  await view.ready();
  cleanups.push(() => view.close());
  const service = n.service.suppressions;
  let asks = 0;
  const check = new SuppressionCheck(view, {
    has: (a, address) => {
      asks++;
      return service.has(a, address);
    },
  });
  return { n, view, service, check, asks: () => asks };
}

describe("suppression view (S9, issue 16)", () => {
  it("asks the actor once per account, then answers from the view, case-insensitively", async () => {
    const { service, check, view, asks } = await setup();
    await service.add("acc1", "Gone@Example.NET", "manual");
    // The list predates any lookup: the view does not answer for acc1 until the actor published it.
    expect(view.covers("acc1")).toBe(false);
    expect(await check.isSuppressed("acc1", "gone@example.net")).toBe(true);
    expect(asks()).toBe(1);
    expect(await check.isSuppressed("acc1", "GONE@example.net")).toBe(true);
    expect(await check.isSuppressed("acc1", "other@example.net")).toBe(false);
    expect(await check.isSuppressed("acc1", "gone@example.org")).toBe(false);
    expect(asks()).toBe(1);
    expect(view.covers("acc1")).toBe(true);
    // another account's list is its own
    expect(await check.isSuppressed("acc2", "gone@example.net")).toBe(false);
    expect(asks()).toBe(2);
  });

  it("an acknowledged add or remove holds at the next check, without an ask", async () => {
    const { service, check, asks } = await setup();
    expect(await check.isSuppressed("acc1", "a@example.net")).toBe(false); // publishes the (empty) list
    await service.add("acc1", "a@example.net", "manual");
    expect(await check.isSuppressed("acc1", "a@example.net")).toBe(true);
    await service.remove("acc1", "A@example.net");
    expect(await check.isSuppressed("acc1", "a@example.net")).toBe(false);
    expect(asks()).toBe(1);
  });

  it("a read barrier that fails (the bus cannot give its end offsets): the actor answers", async () => {
    const { service, view } = await setup();
    await service.add("acc1", "c@example.net", "manual");
    let asks = 0;
    const failing = {
      sync: () => Promise.reject(new Error("end offsets unavailable")),
      covers: (a: string) => view.covers(a),
      has: (a: string, address: string) => view.has(a, address),
    };
    const check = new SuppressionCheck(failing, {
      has: (a, address) => {
        asks++;
        return service.has(a, address);
      },
    });
    expect(await check.isSuppressed("acc1", "c@example.net")).toBe(true);
    expect(await check.isSuppressed("acc1", "d@example.net")).toBe(false);
    expect(asks).toBe(2);
  });

  it("the checks of one transaction share the barrier taken at its start (at()), which covers what was acknowledged before it", async () => {
    const { view, service, check } = await setup();
    await check.isSuppressed("acc1", "x@example.net"); // publishes the (empty) list
    await service.add("acc1", "e@example.net", "manual");
    let barriers = 0;
    const counted = new SuppressionCheck(
      {
        sync: () => {
          barriers++;
          return view.sync();
        },
        covers: (a: string) => view.covers(a),
        has: (a: string, address: string) => view.has(a, address),
      },
      { has: () => Promise.reject(new Error("the view answers here")) },
    );
    const tx = counted.at();
    expect(barriers).toBe(1);
    const answers = await Promise.all(
      ["e@example.net", "f@example.net", "E@example.net"].map((a) => tx.isSuppressed("acc1", a)),
    );
    expect(answers).toEqual([true, false, true]);
    expect(await tx.isSuppressed("acc1", "g@example.net")).toBe(false);
    expect(barriers).toBe(1);
    // a check of its own takes a barrier of its own
    expect(await counted.isSuppressed("acc1", "e@example.net")).toBe(true);
    expect(barriers).toBe(2);
  });

  it("a view started later reads every list from the topic", async () => {
    const { n, service, check } = await setup();
    await service.add("acc1", "b@example.net", "manual");
    expect(await check.isSuppressed("acc1", "b@example.net")).toBe(true);
    const late = new SuppressionView({ bus: n.bus, nodeId: "other" });
    await late.ready();
    cleanups.push(() => late.close());
    expect(late.covers("acc1")).toBe(true);
    expect(late.has("acc1", "B@example.net")).toBe(true);
  });
});
