/**
 * The bookkeeping a node's block of slots shares, whoever leases it (issue 16): the session slots
 * of an SMTP user (session-credit.ts, from the account actor) and the connection slots of a client
 * IP (client-gate.ts, from its client actor): what a block holds, the local grant and give-back,
 * what an answer or a failed ask does to it, and when it needs an ask. Functions of the block and
 * the local clock; the ask loops stay with their owners, whose answers and refusals differ.
 */

/** A block as its holder counts it. */
export interface SlotBlock {
  /** Slots the block weighs at the actor, as last granted. */
  granted: number;
  /** Slots spent locally (sessions or connections open). */
  inUse: number;
  /** The weight the ask in flight asked, if one is. */
  target?: number;
  /** Local time of the last answered ask. */
  askedAt: number;
  /** Local time after which the lease may have lapsed at the actor: no local grant from then. */
  until: number;
  /** Last local grant or give-back: a spare slot idle since then goes back after `idleMs`. */
  lastUse: number;
}

/** A block that holds nothing yet. */
export function emptyBlock(now: number): SlotBlock {
  return { granted: 0, inUse: 0, askedAt: 0, until: 0, lastUse: now };
}

/**
 * Takes a spare slot locally if the block may grant one now (its lease still valid on the local
 * clock, unless `fresh`: just answered); false when it may not.
 */
export function take(b: SlotBlock, now: number, fresh = false): boolean {
  if ((!fresh && now >= b.until) || spare(b) <= 0) return false;
  b.inUse++;
  b.lastUse = now;
  return true;
}

/** Gives a slot back locally; false when none was in use. */
export function giveBack(b: SlotBlock, now: number): boolean {
  if (b.inUse === 0) return false;
  b.inUse--;
  b.lastUse = now;
  return true;
}

/** The actor answered an ask sent at `sentAt`: the block weighs `slots`, its lease runs from then. */
export function answered(b: SlotBlock, slots: number, sentAt: number, ttlMs: number): void {
  b.granted = slots;
  b.target = undefined;
  b.askedAt = sentAt;
  b.until = localUntil(sentAt, ttlMs);
}

/** An ask for `want` got no answer: a shrink may have been applied with its answer lost, so the smaller weight counts. */
export function unanswered(b: SlotBlock, want: number): void {
  b.granted = Math.min(b.granted, want);
  b.target = undefined;
}

export interface BlockTiming {
  ttlMs: number;
  /** Hand a spare slot back after this long unused; 0 = at once. */
  idleMs: number;
}

/**
 * Slots free for a local grant: of the weight granted, and of the one asked while an ask is in
 * flight (a shrink on its way must not find more in use than it leaves).
 */
export function spare(b: SlotBlock): number {
  return Math.min(b.granted, b.target ?? b.granted) - b.inUse;
}

/** Until when a lease granted by an ask sent at `sentAt` is used locally (a margin for clock and transit). */
export function localUntil(sentAt: number, ttlMs: number): number {
  return sentAt + ttlMs - Math.min(1_000, Math.floor(ttlMs / 10));
}

/** A block's lease is renewed every third of it. */
export function renewEvery(ttlMs: number): number {
  return Math.max(500, Math.floor(ttlMs / 3));
}

/** How often the sweeper looks at the blocks: often enough for both renewals and idle hand-backs. */
export function sweepEvery(t: BlockTiming): number {
  return Math.min(renewEvery(t.ttlMs), Math.max(100, Math.floor(t.idleMs / 2)));
}

/**
 * The weight a block with no one waiting asks for now, or undefined when it needs no ask: what is
 * in use when a spare slot has been idle for `idleMs` (or `shrink` asks for it now); its weight —
 * at least what is in use — when its renewal is due (or `renew` asks for it now).
 */
export function upkeep(
  b: SlotBlock,
  now: number,
  t: BlockTiming,
  force: { shrink?: boolean; renew?: boolean } = {},
): number | undefined {
  if (b.granted > b.inUse && (force.shrink || now - b.lastUse >= t.idleMs)) return b.inUse;
  if (force.renew || (b.granted > 0 && now - b.askedAt >= renewEvery(t.ttlMs)))
    return Math.max(b.granted, b.inUse);
  return undefined;
}

/** Resolves once none of `blocks()` has an ask in flight (an answer may start the next ask). */
export async function settled(blocks: () => Iterable<{ asking?: Promise<unknown> }>): Promise<void> {
  for (;;) {
    const asking = [...blocks()].flatMap((b) => (b.asking ? [b.asking] : []));
    if (asking.length === 0) return;
    await Promise.all(asking);
  }
}
