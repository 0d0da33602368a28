/**
 * In-memory "new records are durable" notification for readers of a partition: a reader waits
 * for a condition, the writer calls `wake()` after each fsync. No polling, no timers.
 */
export class Notifier {
  private readonly waiters = new Set<() => void>();

  /** Resolves once `ready()` holds (checked now and at every wake), or when `signal` aborts. */
  wait(ready: () => boolean, signal?: AbortSignal): Promise<void> {
    if (ready() || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(check);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const check = () => {
        if (ready()) done();
      };
      this.waiters.add(check);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  wake(): void {
    for (const check of [...this.waiters]) check();
  }
}
