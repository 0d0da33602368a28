/**
 * A discarding SMTP sink for the benches: smtp-server on loopback, no AUTH, no STARTTLS offered
 * (both relays then send in clear), counting the recipients of every finished transaction and
 * noting when the last one arrived. Used by bench:ingress's live-delivery mode
 * (`BENCH_DELIVER=sink`).
 */
import { SMTPServer } from "smtp-server";
import { HOST } from "../ingress/harness.ts";

export class CountingSink {
  /** Recipients of the transactions finished since the last reset. */
  recipients = 0;
  transactions = 0;
  /** performance.now() of the last finished transaction. */
  lastAt = 0;
  port = 0;
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    size: 0,
    onData: (stream, session, cb) => {
      stream.resume();
      stream.on("end", () => {
        this.transactions++;
        this.recipients += session.envelope.rcptTo.length;
        this.lastAt = performance.now();
        cb();
      });
    },
  });

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, HOST, () => r()));
    this.port = (this.server.server.address() as { port: number }).port;
  }

  reset(): void {
    this.recipients = 0;
    this.transactions = 0;
    this.lastAt = 0;
  }

  /** Resolves once `n` recipients arrived, or after `quietMs` without a new one. */
  async waitFor(n: number, quietMs: number): Promise<void> {
    let last = this.recipients;
    let since = performance.now();
    while (this.recipients < n) {
      await new Promise((r) => setTimeout(r, 100));
      if (this.recipients !== last) {
        last = this.recipients;
        since = performance.now();
      } else if (performance.now() - since > quietMs) return;
    }
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
