/**
 * One live actor: its state, its timers and its mailbox. A cell exists on exactly one node:
 * the one that holds the partition of its key.
 */
import type { TimerHandle } from "./clock.ts";
import { Mailbox } from "./mailbox.ts";

export interface ArmedTimer {
  at: number;
  msg: unknown;
  handle?: TimerHandle;
}

export class Cell {
  readonly mailbox = new Mailbox();
  readonly timers = new Map<string, ArmedTimer>();
  /** Set when the partition is revoked: queued work is dropped, the new owner redoes it. */
  retired = false;

  constructor(
    readonly key: string,
    readonly id: string,
    readonly partition: number,
    public state: unknown,
    /** Last inbox offset included in `state`. */
    public offset: number,
  ) {}
}
