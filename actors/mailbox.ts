/**
 * A mailbox runs the jobs given to it one at a time, in the order given (xstate's Mailbox).
 * `drain()` resolves when everything enqueued so far has finished.
 */
export class Mailbox {
  private tail: Promise<void> = Promise.resolve();
  private depth = 0;

  enqueue<T>(job: () => Promise<T>): Promise<T> {
    this.depth++;
    const run = this.tail.then(job);
    this.tail = run.then(
      () => {
        this.depth--;
      },
      () => {
        this.depth--;
      },
    );
    return run;
  }

  get size(): number {
    return this.depth;
  }

  drain(): Promise<void> {
    return this.tail;
  }
}
