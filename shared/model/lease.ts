/**
 * Slots as leases (S4, D5): one model for the SMTP session slots of an account, the per-IP
 * connection slots of a node, a recipient domain's delivery slots and the outbound connection
 * pool. A lease is a plain record that lapses at `expiresAt` unless extended, so a session, a
 * worker or a node that dies without releasing frees its slot within one TTL (KumoMTA
 * `crates/throttle/src/limit.rs` `LimitLease`).
 *
 * Pure functions over an immutable table: each returns a new table and never reads the clock
 * (`now` is passed in). The actors keep their leases in their persisted state (the account's
 * session leases; the domain's on its rows, with the table an index that changes in place like
 * the rows, so the domain applies `decide` and `grant` to it rather than copy it per message);
 * in-memory holders (the connection pool) keep theirs in a `LocalLeases`.
 *
 * A lease may weigh several slots (`slots`, set by `resize`): a node holds the session slots of
 * one SMTP user, and the connection slots of one client IP, as one block it spends locally
 * (ingress/session-credit.ts, ingress/client-gate.ts). Limits count weights.
 */

/** One slot, held by `holder` until released or until `expiresAt` (ms) passes without an extend. */
export interface Lease {
  id: string;
  /** Who holds it: an SMTP username, a recipient id, a client IP, an MX address. */
  holder: string;
  expiresAt: number;
  /**
   * How many slots it weighs (a node's block of session or per-IP slots,
   * ingress/session-credit.ts, ingress/client-gate.ts).
   * Absent = 1, the form every single-slot lease keeps.
   */
  slots?: number;
}

/** The leases of one limited resource, by lease id. Never mutated: the functions return a new one. */
export type LeaseTable = ReadonlyMap<string, Lease>;

export const NO_LEASES: LeaseTable = new Map();

/** How many leases a table may hold: in all, and per holder. Absent = no limit. */
export interface LeaseLimits {
  total?: number;
  perHolder?: number;
}

/** Leases counted for a holder and in all. */
export interface LeaseCounts {
  holder: number;
  total: number;
}

/** Which limit refused a lease, with the counts it saw. */
export interface Refusal {
  ok: false;
  refusedBy: "holder" | "total";
  counts: LeaseCounts;
}

export type Decision = { ok: true; counts: LeaseCounts } | Refusal;

export type Acquired = { ok: true; table: LeaseTable; lease: Lease; counts: LeaseCounts } | Refusal;

export interface LeaseRequest {
  id: string;
  holder: string;
  ttlMs: number;
  /** Slots wanted; default 1. */
  slots?: number;
}

/** A weight set by `resize`: what it granted (0 = released), the counts after, and what cut it short. */
export interface Resized {
  table: LeaseTable;
  slots: number;
  counts: LeaseCounts;
  refusedBy?: "holder" | "total";
}

/** Is the lease still held at `now`? */
export function isLive(lease: Lease, now: number): boolean {
  return lease.expiresAt > now;
}

/** The table without the leases lapsed at `now` (the same table when none lapsed). */
export function expire(table: LeaseTable, now: number): LeaseTable {
  let out: Map<string, Lease> | undefined;
  for (const [id, l] of table) {
    if (isLive(l, now)) continue;
    out ??= new Map(table);
    out.delete(id);
  }
  return out ?? table;
}

/** How many slots a lease weighs. */
export function weight(lease: Lease): number {
  return lease.slots ?? 1;
}

/** Slots held by `holder`, and by all, in the table (each lease counts its weight). */
export function counts(table: LeaseTable, holder: string): LeaseCounts {
  let n = 0;
  let total = 0;
  for (const l of table.values()) {
    const w = weight(l);
    total += w;
    if (l.holder === holder) n += w;
  }
  return { holder: n, total };
}

/**
 * May `holder` take `slots` more (default 1)? The per-holder limit is checked first. Counts lapsed
 * leases too: `expire` the table first where a lapse frees a slot without an event.
 */
export function decide(table: LeaseTable, holder: string, limits: LeaseLimits, slots = 1): Decision {
  const c = counts(table, holder);
  if (limits.perHolder !== undefined && c.holder + slots > limits.perHolder)
    return { ok: false, refusedBy: "holder", counts: c };
  if (limits.total !== undefined && c.total + slots > limits.total)
    return { ok: false, refusedBy: "total", counts: c };
  return { ok: true, counts: c };
}

/** The lease a granted request gets: `ttlMs` from `now`, weighing `slots` (recorded when not 1). */
export function grant(req: LeaseRequest, now: number): Lease {
  const lease: Lease = { id: req.id, holder: req.holder, expiresAt: now + req.ttlMs };
  if (req.slots !== undefined && req.slots !== 1) lease.slots = req.slots;
  return lease;
}

/**
 * Takes a lease for `ttlMs` from `now` within `limits`, or says which limit refused it.
 * Idempotent per id: asking again for a lease already in the table extends it (whoever asks).
 */
export function acquire(table: LeaseTable, req: LeaseRequest, limits: LeaseLimits, now: number): Acquired {
  const held = table.get(req.id);
  if (held) {
    const lease = { ...held, expiresAt: now + req.ttlMs };
    const next = new Map(table).set(req.id, lease);
    return { ok: true, table: next, lease, counts: counts(next, held.holder) };
  }
  const slots = req.slots ?? 1;
  const d = decide(table, req.holder, limits, slots);
  if (!d.ok) return d;
  const lease = grant(req, now);
  return {
    ok: true,
    table: new Map(table).set(req.id, lease),
    lease,
    counts: { holder: d.counts.holder + slots, total: d.counts.total + slots },
  };
}

/** Bound on the weight one lease may ask for (far above any per-user or per-IP limit). */
export const MAX_LEASE_SLOTS = 100_000;

/** Is `n` a weight a lease may be resized to (an integer of 0 to MAX_LEASE_SLOTS)? */
export function isSlotCount(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 0 && (n as number) <= MAX_LEASE_SLOTS;
}

/**
 * Sets lease `req.id` of `req.holder` to weigh `req.slots` — or as many as `limits` allow,
 * counting every other lease — and extends it to `now + ttlMs`. Shrinking is always allowed, and
 * a lease is never cut below what it already holds unless asked (limits lowered since it grew
 * leave it be); a weight of 0 releases it. `refusedBy` names the limit when fewer were granted.
 */
export function resize(
  table: LeaseTable,
  req: LeaseRequest & { slots: number },
  limits: LeaseLimits,
  now: number,
): Resized {
  const held = table.get(req.id);
  const others = new Map(table);
  others.delete(req.id);
  const c = counts(others, req.holder);
  const roomHolder = (limits.perHolder ?? Number.POSITIVE_INFINITY) - c.holder;
  const roomTotal = (limits.total ?? Number.POSITIVE_INFINITY) - c.total;
  const kept = held?.holder === req.holder ? Math.min(req.slots, weight(held)) : 0;
  const slots = Math.max(0, kept, Math.min(req.slots, roomHolder, roomTotal));
  if (slots > 0) others.set(req.id, grant({ ...req, slots }, now));
  const out: Resized = {
    table: slots === 0 && !held ? table : others,
    slots,
    counts: { holder: c.holder + slots, total: c.total + slots },
  };
  if (slots < req.slots) out.refusedBy = roomHolder <= roomTotal ? "holder" : "total";
  return out;
}

/** Extends a held lease to `now + ttlMs`; `lease` is undefined when the id is not in the table. */
export function extend(
  table: LeaseTable,
  id: string,
  ttlMs: number,
  now: number,
): { table: LeaseTable; lease?: Lease } {
  const held = table.get(id);
  if (!held) return { table };
  const lease = { ...held, expiresAt: now + ttlMs };
  return { table: new Map(table).set(id, lease), lease };
}

/** Gives a lease back; an unknown id is a no-op (the same table). */
export function release(table: LeaseTable, id: string): LeaseTable {
  if (!table.has(id)) return table;
  const next = new Map(table);
  next.delete(id);
  return next;
}

/** The persisted form of a table (JSON: a record by lease id), and back. */
export function leaseRecord(table: LeaseTable): Record<string, Lease> {
  return Object.fromEntries(table);
}

export function leaseTable(record: Readonly<Record<string, Lease>> | undefined): LeaseTable {
  return new Map(Object.entries(record ?? {}));
}

/**
 * The in-memory holder: one table per key (a client IP, a recipient domain), leases of a fixed
 * TTL, the clock injected. Lapsed leases are dropped whenever their key is touched.
 */
export class LocalLeases {
  private readonly tables = new Map<string, LeaseTable>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  private live(key: string): LeaseTable {
    const t = expire(this.tables.get(key) ?? NO_LEASES, this.now());
    this.store(key, t);
    return t;
  }

  private store(key: string, t: LeaseTable): void {
    if (t.size === 0) this.tables.delete(key);
    else this.tables.set(key, t);
  }

  /** A lease `id` for `holder` under `key`, or undefined when `limits` refuse it. */
  acquire(key: string, id: string, holder: string, limits: LeaseLimits): Lease | undefined {
    const r = acquire(this.live(key), { id, holder, ttlMs: this.ttlMs }, limits, this.now());
    if (!r.ok) return undefined;
    this.store(key, r.table);
    return r.lease;
  }

  /** Extends a held lease by one TTL from now; false when it had lapsed or was released. */
  extend(key: string, id: string): boolean {
    const r = extend(this.live(key), id, this.ttlMs, this.now());
    this.store(key, r.table);
    return r.lease !== undefined;
  }

  release(key: string, id: string): void {
    this.store(key, release(this.live(key), id));
  }

  /** Live leases under `key`. */
  count(key: string): number {
    return this.live(key).size;
  }
}
