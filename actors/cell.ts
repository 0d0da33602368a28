/**
 * One live actor: its state, its timers and its mailbox. A cell exists on exactly one node:
 * the one that holds the partition of its key.
 */
import { type ChangelogCursor, freshCursor } from "./changelog.ts";
import type { TimerHandle } from "./clock.ts";
import type { AskAddress } from "./envelope.ts";
import { Mailbox } from "./mailbox.ts";

export interface ArmedTimer {
  at: number;
  msg: unknown;
  handle?: TimerHandle;
}

/** One message for the actor: from the inbox (with its offset), a local ask, or a due timer. */
export interface Job {
  msg: unknown;
  offset?: number;
  ask?: AskAddress;
  timer?: { name: string; timer: ArmedTimer };
}

export class Cell {
  readonly mailbox: Mailbox<Job>;
  readonly timers = new Map<string, ArmedTimer>();
  /** Set when the partition is revoked: queued work is dropped, the new owner redoes it. */
  retired = false;
  /** Timers set, cancelled or fired since the last changelog write (for a delta). */
  readonly timersDirty = new Set<string>();
  cursor: ChangelogCursor;
  /** A changelog write failed: the state in memory is ahead of the durable one. */
  unsaved = false;

  constructor(
    readonly key: string,
    readonly id: string,
    readonly partition: number,
    public state: unknown,
    /** Last inbox offset included in `state`. */
    public offset: number,
    turn: (cell: Cell, jobs: Job[]) => Promise<void>,
    /** Turn number of the restored snapshot: the first write after a restore is a full one. */
    seq = 0,
  ) {
    this.cursor = freshCursor(seq);
    this.mailbox = new Mailbox((jobs) => turn(this, jobs));
  }
}
