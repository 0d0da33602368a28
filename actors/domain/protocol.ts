/**
 * The domain actor's contract (D1, D5, D6): one actor per recipient domain (`domain:<domain>`)
 * owning the domain's concurrency slots (leases), its scheduled set (due later), its bounded
 * ready queue (due now), its retry timers and a circuit for a domain whose MX hosts all fail.
 *
 * I/O happens outside: the actor grants a slot by emitting an `AttemptRequest` on
 * `delivery.attempts`; a delivery worker does the SMTP work and tells the actor an `outcome`.
 */
import type { BounceDecision } from "../../shared/model/event.ts";
import type { Lease } from "../../shared/model/lease.ts";
import type { RecipientRecord } from "../../shared/model/recipient.ts";
import type { StatusReason } from "../../shared/model/status.ts";
import { utf8 } from "../../shared/utf8.ts";
import type { Table } from "../table.ts";

export const DELIVERY_ATTEMPTS_TOPIC = "delivery.attempts";

/** What a worker did with one attempt. `defer` retries; the others are final. */
export type AttemptResult = "delivered" | "defer" | "soft" | "hard";

export interface AttemptRequest {
  domain: string;
  /** The first (or only) recipient of the attempt. */
  record: RecipientRecord;
  /**
   * Several recipients of one message in one SMTP transaction (D1: one MAIL FROM, one DKIM
   * signature, one RCPT each), `record` first; absent for one recipient. They share `lease` (one
   * slot, one connection) and each gets its own outcome, told together (`outcomes`).
   */
  records?: RecipientRecord[];
  /** 1 for the first attempt. */
  attempt: number;
  /** Lease id: the outcome must carry it back; a stale one is ignored. */
  lease: string;
  /** The domain's connection limit (D5): a worker never holds more connections to it. */
  concurrency: number;
}

const decoder = new TextDecoder();

/** The attempt request on `delivery.attempts`: JSON in UTF-8, one encoder and one decoder. */
export function encodeAttemptRequest(req: AttemptRequest): Uint8Array {
  return utf8(JSON.stringify(req));
}
export function decodeAttemptRequest(value: Uint8Array): AttemptRequest {
  return JSON.parse(decoder.decode(value)) as AttemptRequest;
}

export interface Outcome {
  recipientId: string;
  lease: string;
  result: AttemptResult;
  reason: StatusReason;
  /** Verbatim remote reply, or a description of the transport failure. */
  remoteReply: string;
  mxHost: string;
  /** The rule that decided a failure (issue 15); absent for Delivered. */
  decision?: BounceDecision;
  /**
   * The domain could not be reached at all: every MX host failed at the connection level, or its
   * MX lookup failed temporarily (feeds the circuit).
   */
  allMxFailed?: boolean;
}

/**
 * A delayed bounce (D7) for a recipient this actor reported Delivered: named by its recipient id
 * (a recipient's VERP Return-Path), or by its message id and the addresses the report gives for
 * the failed recipient (a message's Return-Path, shared by the recipients of one transaction).
 */
export interface DelayedBounce {
  recipientId?: string;
  messageId?: string;
  /** Final-Recipient, Original-Recipient, ...: which of the message's recipients failed. */
  addresses?: string[];
  result: "soft" | "hard";
  reason: StatusReason;
  remoteReply: string;
  mxHost: string;
  /** The rule that decided (issue 15); absent from bounces told before it. */
  decision?: BounceDecision;
}

export type DomainMsg =
  | { t: "recipient"; record: RecipientRecord }
  | { t: "outcome"; outcome: Outcome }
  /** The outcomes of one transaction with several recipients (one attempt, one lease). */
  | { t: "outcomes"; outcomes: Outcome[] }
  /** The wait for a message's other records is over: its recipients may go (`gatherMs`). */
  | { t: "gathered"; messageId: string }
  | { t: "due"; recipientId: string }
  | { t: "leaseExpired"; recipientId: string; lease: string }
  | { t: "circuitClose" }
  | { t: "bounce"; bounce: DelayedBounce }
  | { t: "inspect" };

/** One recipient the domain has not finished with. A row of `entries`: replaced, never mutated. */
export interface Entry {
  record: RecipientRecord;
  /** Attempts made so far. */
  attempts: number;
  /** ready: due now, waiting for a slot; inflight: a worker holds a slot; scheduled: a retry timer runs. */
  where: "scheduled" | "ready" | "inflight";
  dueAt: number;
  /** Queue position while ready (the domain's `seq` when it was queued): FIFO, also after a restore. */
  queuedAt: number;
  /**
   * The slot while inflight: a lease (shared/model/lease.ts) held by the recipient id, taken back
   * at `expiresAt` by a `leaseExpired` timer. Rows written before the shared model carry no
   * `holder`; nothing reads it from the row (the index rebuilds it from the row's id).
   */
  lease?: Lease;
  lastReason?: StatusReason;
  lastReply?: string;
  lastMx?: string;
}

export interface DeliveredEntry {
  record: RecipientRecord;
  deliveredAt: number;
  attempt: number;
  mxHost: string;
}

/**
 * What the domain derives from `entries` to stay O(1) in the backlog per message: the ready ids
 * in queue order and the slots in use (the inflight rows' leases, by lease id; at most
 * `concurrency`). Not persisted; rebuilt after a restore or a rolled-back transition.
 */
export interface DomainIndex {
  ready: Map<string, number>;
  /** The ready ids by message id, so one attempt takes a message's recipients together. */
  readyByMessage: Map<string, Set<string>>;
  /**
   * Messages whose other records may still be on their way: their ready recipients wait (at most
   * `gatherMs`) so the message goes in one transaction. Not restored: after a restart they go.
   */
  gathering: Set<string>;
  /** The Delivered ids by message id: a bounce to a message's Return-Path finds its recipient. */
  deliveredByMessage: Map<string, Set<string>>;
  /** Changed in place, like the rows: a lease table (shared/model/lease.ts) the actor owns. */
  inflight: Map<string, Lease>;
}

export interface DomainState {
  domain: string;
  /**
   * `failures`: attempts in a row that reached no MX host; `warm`: the last counted attempt
   * reached one (only then are attempts prefetched: a dead or new domain gets `concurrency`).
   */
  circuit: { failures: number; openUntil?: number; warm?: true };
  /** Queue counter (`Entry.queuedAt`). */
  seq: number;
  /** Recipients not finished with, by recipient id (changed in place, persisted row by row). */
  entries: Table<Entry>;
  /** Recently Delivered recipients, kept for delayed bounces (D7), oldest first. */
  delivered: Table<DeliveredEntry>;
  index: DomainIndex;
}

export interface DomainView {
  domain: string;
  scheduled: number;
  ready: number;
  inflight: number;
  delivered: number;
  circuitOpen: boolean;
}
