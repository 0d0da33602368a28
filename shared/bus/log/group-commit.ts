/**
 * Group commit, the loop the log's partitions and its write-ahead file share: what is queued in one
 * turn of the event loop is written together, one write in flight at a time, and what is queued
 * while it runs forms the next batch. So N concurrent writers cost about one write per round, not N.
 */
export interface GroupCommitSteps<P> {
  /** Writes a batch durably; a throw hands the batch to `failed`. */
  write(batch: P[]): Promise<void>;
  /** After a written batch: resolve it (and whatever comes between two writes). */
  written(batch: P[]): void | Promise<void>;
  /** After a failed write: refuse the batch; false stops the loop (what is queued stays queued). */
  failed(error: unknown, batch: P[]): Promise<boolean>;
}

export class GroupCommit<P> {
  private queue: P[] = [];
  private flushing = false;
  /** Settles once the loop has written everything queued (close() waits for it). */
  drained: Promise<void> = Promise.resolve();

  constructor(private readonly steps: GroupCommitSteps<P>) {}

  push(item: P): void {
    this.queue.push(item);
    if (!this.flushing) this.drained = this.loop();
  }

  /** Everything queued and not yet taken (a failure refuses it with its batch). */
  takeQueued(): P[] {
    return this.queue.splice(0);
  }

  private async loop(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        // Let what is queued in this same turn of the event loop (typically every writer that the
        // previous write just released) join the batch before it is taken.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.queue;
        this.queue = [];
        try {
          await this.steps.write(batch);
        } catch (e) {
          if (!(await this.steps.failed(e, batch))) return;
          continue;
        }
        await this.steps.written(batch);
      }
    } finally {
      this.flushing = false;
    }
  }
}
