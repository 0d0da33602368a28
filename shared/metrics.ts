/**
 * Prometheus metrics (X4): one registry per process, passed down; components add their own series.
 * The relay's own series are declared here, once (`relayMetrics`); the parts that move them get a
 * small recorder interface (`DeliveryRecorder`, `SinkRecorder`, `IngressRecorder`), never the
 * registry or a global. Gauges that read state (queues, lag, sessions) are given a reader at
 * composition (relay.ts) and sampled at scrape time. docs/operations.md lists them with alerts.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { GroupLag } from "./bus/types.ts";

export function createMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "petrel_" });
  return registry;
}

/**
 * `petrel_content_stored_bytes` (X5): the content store's size, sampled at most every 30 s (an S3
 * store lists its objects to answer).
 */
export function contentBytesGauge(
  registry: Registry,
  store: { storedBytes(): Promise<number> },
  maxAgeMs = 30_000,
): void {
  let last: { at: number; value: number } | undefined;
  new Gauge({
    name: "petrel_content_stored_bytes",
    help: "Bytes of message content in the content store (deleted once every recipient is final).",
    registers: [registry],
    async collect() {
      const now = Date.now();
      if (!last || now - last.at >= maxAgeMs)
        last = { at: now, value: await store.storedBytes().catch(() => last?.value ?? 0) };
      this.set(last.value);
    },
  });
}

/** What a delivery worker reports: each attempt's outcome, each DKIM signature it could not make. */
export interface DeliveryRecorder {
  attempt(domain: string, attempt: number, result: string, reason: string): void;
  /** One SMTP transaction (or a try that never reached one) for `domain`, whatever its recipients. */
  transaction(domain: string): void;
  dkimFailure(): void;
}

/** What the analytics sink reports: each batch inserted, and how old its oldest event was. */
export interface SinkRecorder {
  batch(rows: number, lagSeconds: number): void;
}

/** What the SMTP surface reports: every reply of class 4 or 5 it sends, by code. */
export interface IngressRecorder {
  refusal(code: number): void;
}

/** A domain actor queue's figures, summed over the domains this node holds. */
export interface QueueFigures {
  ready: number;
  scheduled: number;
  inflight: number;
  /** acceptedAt (ms) of the oldest recipient not yet final, undefined when none. */
  oldestAcceptedAt: number | undefined;
}

/** The readers the scrape-time gauges sample (relay.ts wires them). */
export interface MetricSources {
  queues(): QueueFigures;
  consumerLag(): Promise<GroupLag[]>;
  openSessions(): number;
  now(): number;
}

export interface RelayMetrics {
  delivery: DeliveryRecorder;
  sink: SinkRecorder;
  ingress: IngressRecorder;
}

/** Top recipient domains that get their own label; the rest are counted as "other". */
export const TOP_DOMAINS = 20;

/**
 * Bounded label values for recipient domains (cardinality): the first `n` domains seen get their
 * own label; after that a domain gets one only once its volume passes the smallest labelled
 * domain's, and at most `2n` are ever handed out. Everything else is "other". Volumes are kept for
 * at most `tracked` domains, halved when that is exceeded (old volume fades).
 */
export class TopDomains {
  private readonly counts = new Map<string, number>();
  private readonly labelled = new Set<string>();

  constructor(
    private readonly n = TOP_DOMAINS,
    private readonly tracked = 1_000,
  ) {}

  label(domain: string): string {
    const count = (this.counts.get(domain) ?? 0) + 1;
    this.counts.set(domain, count);
    if (this.counts.size > this.tracked) this.decay();
    if (this.labelled.has(domain)) return domain;
    if (this.labelled.size < this.n || (this.labelled.size < 2 * this.n && count > this.smallest())) {
      this.labelled.add(domain);
      return domain;
    }
    return "other";
  }

  private smallest(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const d of this.labelled) min = Math.min(min, this.counts.get(d) ?? 0);
    return min;
  }

  private decay(): void {
    for (const [d, c] of this.counts) {
      const half = Math.floor(c / 2);
      if (half === 0 && !this.labelled.has(d)) this.counts.delete(d);
      else this.counts.set(d, half);
    }
  }
}

/** Every series of the relay's stages (beyond the intake counters of ingress/metrics.ts). */
export function relayMetrics(
  registry: Registry,
  sources: MetricSources,
  topDomains = TOP_DOMAINS,
): RelayMetrics {
  const registers = [registry];
  const domains = new TopDomains(topDomains);
  const attempts = new Counter({
    name: "petrel_delivery_attempts_total",
    help: `Delivery attempts per recipient (a transaction of several recipients counts each) by recipient domain (the ${topDomains} busiest, the rest "other") and result (delivered, defer, soft, hard).`,
    labelNames: ["domain", "result"] as const,
    registers,
  });
  const transactions = new Counter({
    name: "petrel_delivery_transactions_total",
    help: `Delivery transactions by recipient domain (the ${topDomains} busiest, the rest "other"): one per MAIL FROM tried, carrying one or several recipients of one message.`,
    labelNames: ["domain"] as const,
    registers,
  });
  const outcomes = new Counter({
    name: "petrel_delivery_outcomes_total",
    help: "Delivery attempt outcomes by result and bounce class (the status reason, D6).",
    labelNames: ["result", "reason"] as const,
    registers,
  });
  const retries = new Counter({
    name: "petrel_delivery_retries_total",
    help: "Delivery attempts after the first for the same recipient.",
    registers,
  });
  const dkim = new Counter({
    name: "petrel_delivery_dkim_failures_total",
    help: "Attempts deferred because no DKIM signature could be made (never sent unsigned, D3).",
    registers,
  });
  new Gauge({
    name: "petrel_delivery_queue_recipients",
    help: "Recipients in the domain queues of this node: ready (due now), scheduled (retry later), inflight.",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const figures = sources.queues();
      this.set({ state: "ready" }, figures.ready);
      this.set({ state: "scheduled" }, figures.scheduled);
      this.set({ state: "inflight" }, figures.inflight);
    },
  });
  new Gauge({
    name: "petrel_delivery_queue_oldest_age_seconds",
    help: "Age of the oldest recipient in the domain queues of this node (since it was accepted).",
    registers,
    collect() {
      const f = sources.queues();
      this.set(
        f.oldestAcceptedAt === undefined ? 0 : Math.max(0, (sources.now() - f.oldestAcceptedAt) / 1000),
      );
    },
  });
  new Gauge({
    name: "petrel_bus_consumer_lag",
    help: "Records not yet committed by a consumer group of this node, per group and topic.",
    labelNames: ["group", "topic"] as const,
    registers,
    async collect() {
      this.reset();
      for (const l of await sources.consumerLag().catch(() => []))
        this.set({ group: l.group, topic: l.topic }, l.lag);
    },
  });
  const sinkLag = new Gauge({
    name: "petrel_analytics_sink_lag_seconds",
    help: "Age of the oldest status event of the last batch the analytics sink inserted, at insert time.",
    registers,
  });
  const sinkBatch = new Histogram({
    name: "petrel_analytics_sink_batch_rows",
    help: "Rows per analytics sink insert.",
    buckets: [1, 10, 50, 100, 250, 500, 1000, 5000],
    registers,
  });
  new Gauge({
    name: "petrel_smtp_sessions_open",
    help: "SMTP submission sessions open on this node.",
    registers,
    collect() {
      this.set(sources.openSessions());
    },
  });
  const refusals = new Counter({
    name: "petrel_smtp_refusals_total",
    help: "SMTP replies of class 4 or 5 sent to submission clients, by reply code.",
    labelNames: ["code"] as const,
    registers,
  });
  return {
    delivery: {
      attempt(domain, attempt, result, reason) {
        attempts.inc({ domain: domains.label(domain), result });
        outcomes.inc({ result, reason });
        if (attempt > 1) retries.inc();
      },
      transaction: (domain) => transactions.inc({ domain: domains.label(domain) }),
      dkimFailure: () => dkim.inc(),
    },
    sink: {
      batch(rows, lagSeconds) {
        sinkBatch.observe(rows);
        sinkLag.set(Math.max(0, lagSeconds));
      },
    },
    ingress: {
      refusal: (code) => refusals.inc({ code: String(code) }),
    },
  };
}

export type { Registry };

/**
 * Issue 17: each guarded volume's free bytes and whether it is below the floor (1 = new mail
 * refused with 452 4.3.1), by `volume` (`data`, `content`); read from the guard's last measure.
 */
export function diskGauges(
  registry: Registry,
  guard: { status(): { volume: string; freeBytes: number; floorBytes: number; ok: boolean }[] },
): void {
  new Gauge({
    name: "petrel_disk_free_bytes",
    help: "Bytes available on the volume at the last measure (statfs).",
    labelNames: ["volume"] as const,
    registers: [registry],
    collect() {
      for (const s of guard.status()) this.set({ volume: s.volume }, s.freeBytes);
    },
  });
  new Gauge({
    name: "petrel_disk_floor_bytes",
    help: "The free-space floor of the volume (PETREL_DISK_MIN_FREE_BYTES).",
    labelNames: ["volume"] as const,
    registers: [registry],
    collect() {
      for (const s of guard.status()) this.set({ volume: s.volume }, s.floorBytes);
    },
  });
  new Gauge({
    name: "petrel_disk_below_floor",
    help: "1 while the volume is below its free-space floor and new messages get 452 4.3.1, else 0.",
    labelNames: ["volume"] as const,
    registers: [registry],
    collect() {
      for (const s of guard.status()) this.set({ volume: s.volume }, s.ok ? 0 : 1);
    },
  });
}
