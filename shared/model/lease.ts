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
 * in-memory holders (the per-IP slots, the connection pool) keep theirs in a `LocalLeases`.
 */

/** One slot, held by `holder` until released or until `expiresAt` (ms) passes without an extend. */
export interface Lease {
  id: string;
  /** Who holds it: an SMTP username, a recipient id, a client IP, an MX address. */
  holder: string;
  expiresAt: number;
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

/** Leases of `holder`, and all leases, in the table. */
export function counts(table: LeaseTable, holder: string): LeaseCounts {
  let n = 0;
  for (const l of table.values()) if (l.holder === holder) n++;
  return { holder: n, total: table.size };
}

/**
 * May `holder` take one more lease? The per-holder limit is checked first. Counts lapsed leases
 * too: `expire` the table first where a lapse frees a slot without an event.
 */
export function decide(table: LeaseTable, holder: string, limits: LeaseLimits): Decision {
  const c = counts(table, holder);
  if (limits.perHolder !== undefined && c.holder >= limits.perHolder)
    return { ok: false, refusedBy: "holder", counts: c };
  if (limits.total !== undefined && c.total >= limits.total)
    return { ok: false, refusedBy: "total", counts: c };
  return { ok: true, counts: c };
}

/** The lease a granted request gets: `ttlMs` from `now`. */
export function grant(req: LeaseRequest, now: number): Lease {
  return { id: req.id, holder: req.holder, expiresAt: now + req.ttlMs };
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
  const d = decide(table, req.holder, limits);
  if (!d.ok) return d;
  const lease = grant(req, now);
  return {
    ok: true,
    table: new Map(table).set(req.id, lease),
    lease,
    counts: { holder: d.counts.holder + 1, total: d.counts.total + 1 },
  };
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
