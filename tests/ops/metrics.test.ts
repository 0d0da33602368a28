/**
 * X4: what an operator watches. Each stage is driven through a whole relay (tests/ops/stack.ts:
 * real DNS, a real SMTP peer, the relay's own /metrics route) and its series is read before and
 * after: delivery attempts and outcomes by domain and class, retries, DKIM failures, queue depth
 * and the oldest recipient's age, content bytes, bus consumer lag per group, the analytics sink's
 * batch size and lag, open SMTP sessions, refusals by reply code. Then every metric name that
 * docs/operations.md and docs/grafana-dashboard.json use must be one /metrics exports.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDnsServer } from "../dns/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { RawClient } from "../ingress/harness.ts";
import { type Stack, startStack } from "./stack.ts";

const available = requireDnsServer("operations metrics (tests/ops/metrics.test.ts)");

describe.skipIf(!available)("metrics of every stage (X4)", () => {
  let s: Stack;

  beforeAll(async () => {
    s = await startStack();
  }, 180_000);

  afterAll(async () => {
    await s?.stop();
  });

  /** Waits until the scrape satisfies `ok`, and returns it. */
  const until = (ok: (m: Awaited<ReturnType<Stack["scrape"]>>) => boolean, what: string) =>
    waitFor(
      async () => {
        const m = await s.scrape();
        return ok(m) ? m : undefined;
      },
      { what, timeoutMs: 30_000, intervalMs: 100 },
    );

  it("an unreachable domain: deferred attempts by domain and class, queue depth, oldest age, retries, content bytes", async () => {
    const before = await s.scrape();
    expect(await s.send("alice@down.test")).toMatch(/^250 /);
    const m = await until(
      (m) =>
        m.value("petrel_delivery_attempts_total", { domain: "down.test", result: "defer" }) >= 1 &&
        m.value("petrel_delivery_queue_recipients", { state: "scheduled" }) >= 1,
      "a deferred attempt to down.test and the recipient scheduled",
    );
    expect(
      m.value("petrel_delivery_outcomes_total", { result: "defer", reason: "connection_failed" }),
    ).toBeGreaterThan(
      before.value("petrel_delivery_outcomes_total", { result: "defer", reason: "connection_failed" }),
    );
    expect(m.value("petrel_delivery_queue_oldest_age_seconds")).toBeGreaterThan(0);
    // The content stays while its recipient is not final (X5).
    expect(m.value("petrel_content_stored_bytes")).toBeGreaterThan(
      before.value("petrel_content_stored_bytes"),
    );
    // Backoff base 1 s: the second attempt comes within seconds.
    await until((m) => m.value("petrel_delivery_retries_total") >= 1, "a retry of alice@down.test");
  }, 60_000);

  it("a delivered message: attempts by domain, outcome by class, the sink's batch and lag", async () => {
    const before = await s.scrape();
    expect(await s.send("bob@good.test")).toMatch(/^250 /);
    const m = await until(
      (m) =>
        m.value("petrel_delivery_attempts_total", { domain: "good.test", result: "delivered" }) ===
          before.value("petrel_delivery_attempts_total", { domain: "good.test", result: "delivered" }) + 1 &&
        m.value("petrel_analytics_sink_batch_rows_count") >
          before.value("petrel_analytics_sink_batch_rows_count"),
      "the delivered attempt and a sink batch",
    );
    expect(s.peer.received.get("good.test")).toBe(1);
    expect(m.value("petrel_delivery_transactions_total", { domain: "good.test" })).toBe(
      before.value("petrel_delivery_transactions_total", { domain: "good.test" }) + 1,
    );
    expect(m.value("petrel_delivery_outcomes_total", { result: "delivered", reason: "none" })).toBe(
      before.value("petrel_delivery_outcomes_total", { result: "delivered", reason: "none" }) + 1,
    );
    expect(m.value("petrel_analytics_sink_batch_rows_sum")).toBeGreaterThan(
      before.value("petrel_analytics_sink_batch_rows_sum"),
    );
    expect(m.value("petrel_analytics_sink_lag_seconds")).toBeGreaterThan(0);
  }, 60_000);

  it("a sending domain whose key does not sign: a DKIM failure, deferred as sender_authentication", async () => {
    const before = await s.scrape();
    expect(await s.send("carol@good.test", { from: "app@broken.example" })).toMatch(/^250 /);
    const m = await until(
      (m) =>
        m.value("petrel_delivery_dkim_failures_total") > before.value("petrel_delivery_dkim_failures_total"),
      "a DKIM failure",
    );
    expect(
      m.value("petrel_delivery_outcomes_total", { result: "defer", reason: "sender_authentication" }),
    ).toBeGreaterThan(
      before.value("petrel_delivery_outcomes_total", { result: "defer", reason: "sender_authentication" }),
    );
  }, 60_000);

  it("open sessions and refusals by reply code", async () => {
    const before = await s.scrape();
    const c = await RawClient.connect(s.relay.ingress.ports.submission);
    try {
      expect(await c.reply()).toMatch(/^220 /);
      const open = await s.scrape();
      expect(open.value("petrel_smtp_sessions_open")).toBe(before.value("petrel_smtp_sessions_open") + 1);
      // Before STARTTLS, MAIL is refused 530 (S1).
      expect(await c.cmd("MAIL FROM:<app@shop.example>")).toMatch(/^530 /);
      const refused = await s.scrape();
      expect(refused.value("petrel_smtp_refusals_total", { code: "530" })).toBe(
        before.value("petrel_smtp_refusals_total", { code: "530" }) + 1,
      );
    } finally {
      c.socket.destroy();
    }
    await until(
      (m) => m.value("petrel_smtp_sessions_open") === before.value("petrel_smtp_sessions_open"),
      "the session to close",
    );
  }, 30_000);

  it("bus consumer lag per group: records a group has not committed", async () => {
    const topic = "ops.lag-probe";
    await s.relay.bus.ensureTopics([{ name: topic, partitions: 1 }]);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const sub = await s.relay.bus.subscribe({
      group: "ops.held",
      topics: [topic],
      fromBeginning: true,
      handler: () => gate,
    });
    try {
      const value = new TextEncoder().encode("x");
      await s.relay.bus.publish(
        topic,
        Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value })),
      );
      const held = await until(
        (m) => m.value("petrel_bus_consumer_lag", { group: "ops.held", topic }) === 5,
        "a lag of 5 for the held group",
      );
      // The relay's own groups are reported too.
      expect(held.names.has("petrel_bus_consumer_lag")).toBe(true);
      for (const group of ["analytics-sink", "delivery.workers"])
        expect(
          held.value("petrel_bus_consumer_lag", { group }),
          `lag series of ${group}`,
        ).toBeGreaterThanOrEqual(0);
      release();
      await until(
        (m) => m.value("petrel_bus_consumer_lag", { group: "ops.held", topic }) === 0,
        "the lag to clear",
      );
    } finally {
      release();
      await sub.close();
    }
  }, 30_000);

  it("every metric docs/operations.md and docs/grafana-dashboard.json name is exported on /metrics", async () => {
    const m = await s.scrape();
    const base = (n: string) => n.replace(/_(bucket|sum|count)$/, "");
    const exported = (n: string) => m.names.has(n) || m.names.has(base(n));
    const dashboard = readFileSync(new URL("../../docs/grafana-dashboard.json", import.meta.url), "utf8");
    const panels = JSON.parse(dashboard).panels as { targets?: { expr: string }[] }[];
    expect(panels.length).toBeGreaterThan(5);
    const ops = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");
    for (const [file, text] of [
      ["docs/grafana-dashboard.json", dashboard],
      ["docs/operations.md", ops],
    ] as const) {
      const names = new Set(text.match(/\bpetrel_[a-z0-9_]+/g) ?? []);
      expect(names.size, `${file} names metrics`).toBeGreaterThan(5);
      const missing = [...names].filter((n) => !exported(n));
      expect(missing, `${file}: names not on /metrics`).toEqual([]);
    }
  });
});
