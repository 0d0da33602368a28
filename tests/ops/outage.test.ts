/**
 * Issue 17 point 6 at CI scale: 2,000 recipients queued for `down.test`, whose MX (127.0.0.3)
 * refuses every connection, in a whole relay (tests/ops/stack.ts). After the first failures the
 * domain's circuit opens and its recipients wait (scheduled for their retry, or ready behind the
 * circuit). The relay is restarted: it comes back in bounded time with the same backlog, the same
 * retry times and the same circuit (restored from the changelog, not recomputed), it does not
 * fire the backlog at once, and meanwhile `good.test` gets its mail.
 *
 * Fails if the retry timers or the circuit are not restored (the scheduled times differ, or every
 * ready recipient is attempted right after the restart), or if the backlog blocks other domains.
 * `npm run bench:outage` runs 100,000 recipients (BENCHMARKS.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDnsServer } from "../dns/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Stack, startStack } from "./stack.ts";

const available = requireDnsServer("outage of one destination (tests/ops/outage.test.ts)");
const BACKLOG = 2_000;

describe.skipIf(!available)("a long outage of one destination (issue 17 point 6)", () => {
  let s: Stack;

  beforeAll(async () => {
    // Retries 2 minutes apart: the scheduled times lie beyond the restart; the circuit 20 s.
    s = await startStack({
      plan: "business",
      env: { PETREL_DELIVERY_BACKOFF_BASE_SECONDS: "120", PETREL_DELIVERY_CIRCUIT_OPEN_SECONDS: "20" },
    });
  }, 180_000);

  afterAll(async () => {
    await s?.stop();
  });

  const backlogOf = (domain: string) => {
    const st = s.domainState(domain);
    if (!st) return undefined;
    const scheduled = new Map<string, number>();
    for (const [id, e] of st.entries.entries()) if (e.where === "scheduled") scheduled.set(id, e.dueAt);
    return { size: st.entries.size, scheduled, openUntil: st.circuit.openUntil };
  };

  it("keeps the backlog, its retry times and its circuit across a restart; another domain delivers meanwhile", async () => {
    await s.queue("down.test", BACKLOG);
    const before = await waitFor(
      () => {
        const b = backlogOf("down.test");
        return b && b.size === BACKLOG && b.openUntil !== undefined && b.scheduled.size > 0 ? b : undefined;
      },
      {
        what: "2,000 recipients queued for down.test behind an open circuit",
        timeoutMs: 60_000,
        intervalMs: 100,
      },
    );
    const m = await s.scrape();
    expect(
      m.value("petrel_delivery_queue_recipients", { state: "ready" }) +
        m.value("petrel_delivery_queue_recipients", { state: "scheduled" }) +
        m.value("petrel_delivery_queue_recipients", { state: "inflight" }),
    ).toBeGreaterThanOrEqual(BACKLOG);
    const attemptsBefore = m.value("petrel_delivery_attempts_total", { domain: "down.test" });
    // The circuit stops attempts: a handful of transactions (each carries up to
    // deliveryBatchRecipients recipients of one message), not one per recipient.
    expect(attemptsBefore).toBeGreaterThan(0);
    expect(m.value("petrel_delivery_transactions_total", { domain: "down.test" })).toBeLessThanOrEqual(
      2 * s.config.deliveryConcurrency,
    );

    const restartMs = await s.restart();
    const after = await waitFor(
      () => {
        const b = backlogOf("down.test");
        return b && b.size === BACKLOG ? b : undefined;
      },
      { what: "the backlog restored after the restart", timeoutMs: 30_000, intervalMs: 50 },
    );
    // The same schedule: every scheduled recipient keeps its retry time, the circuit its end.
    expect(after.openUntil).toBe(before.openUntil);
    for (const [id, due] of before.scheduled) expect(after.scheduled.get(id), id).toBe(due);

    // Another domain is not held up by the backlog.
    const t0 = Date.now();
    expect(await s.send("frank@good.test")).toMatch(/^250 /);
    await waitFor(() => s.peer.received.get("good.test") === 1, {
      what: "good.test's message at the peer",
      timeoutMs: 20_000,
    });
    const otherMs = Date.now() - t0;

    // The backlog is not fired at once after the restart: the restored circuit holds it until
    // its time, then lets a few attempts through and opens again.
    const attemptsNow = async () =>
      (await s.scrape()).value("petrel_delivery_transactions_total", { domain: "down.test" });
    const openUntil = before.openUntil as number;
    if (Date.now() < openUntil - 500) expect(await attemptsNow()).toBe(0);
    const resumed = await waitFor(
      async () => {
        const n = await attemptsNow();
        return n > 0 ? { n, at: Date.now() } : undefined;
      },
      { what: "attempts to resume once the circuit's time came", timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(resumed.at).toBeGreaterThanOrEqual(openUntil);
    await waitFor(
      () =>
        backlogOf("down.test")?.openUntil !== undefined && backlogOf("down.test")?.openUntil !== openUntil,
      {
        what: "the circuit to open again",
        timeoutMs: 30_000,
      },
    );
    expect(await attemptsNow()).toBeLessThanOrEqual(2 * s.config.deliveryConcurrency);
    console.log(
      `outage CI: ${BACKLOG} queued, restart ${Math.round(restartMs)} ms, good.test delivered in ${otherMs} ms after, attempts resumed ${resumed.at - openUntil} ms after the circuit's time`,
    );
  }, 180_000);
});
