/**
 * An actor's mailbox: jobs run in the order posted, never two turns at once (xstate's Mailbox).
 * Everything that arrived while a turn was running is handed to the next turn together, so the
 * actor can make one durable write for all of it (group commit at the actor level). A posted
 * job's promise settles when the turn that took it has finished.
 */
interface Posted<J> {
  job: J;
  resolve(): void;
  reject(error: unknown): void;
}

export class Mailbox<J> {
  private queue: Posted<J>[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly turn: (jobs: J[]) => Promise<void>) {}

  post(job: J): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.running ??= this.run();
    });
  }

  /** Jobs waiting or running. */
  get size(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /** Resolves when everything posted so far has been handled. */
  drain(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        try {
          await this.turn(batch.map((p) => p.job));
          for (const p of batch) p.resolve();
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
