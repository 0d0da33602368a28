/**
 * A discarding SMTP sink for the benches: smtp-server on loopback, no AUTH, no STARTTLS offered
 * (both relays then send in clear), counting the recipients of every finished transaction and
 * noting when the last one arrived. Used by bench:ingress's live-delivery mode
 * (`BENCH_DELIVER=sink`); bench:delivery's sink is built on the same server (`discardingServer`).
 */
import { SMTPServer } from "smtp-server";
import { HOST } from "../ingress/harness.ts";

/**
 * The discarding server: `onMessage` gets each finished transaction's header section (the chunks
 * read until it ended, at most about `headBytes`, latin1; 0 = none read) and its number of recipients.
 */
export function discardingServer(
  onMessage: (head: string, recipients: number) => void,
  headBytes = 0,
): SMTPServer {
  return new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    size: 0,
    onData: (stream, session, cb) => {
      let head = "";
      if (headBytes > 0)
        stream.on("data", (c: Buffer) => {
          // Up to the end of the header section, at most headBytes.
          if (head.length < headBytes && !head.includes("\r\n\r\n")) head += c.toString("latin1");
        });
      else stream.resume();
      stream.on("end", () => {
        onMessage(head, session.envelope.rcptTo.length);
        cb();
      });
    },
  });
}

/** Listens on loopback at a free port; resolves with the port. */
export async function listenLoopback(server: SMTPServer): Promise<number> {
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  return (server.server.address() as { port: number }).port;
}

export class CountingSink {
  /** Recipients of the transactions finished since the last reset. */
  recipients = 0;
  transactions = 0;
  /** performance.now() of the last finished transaction. */
  lastAt = 0;
  port = 0;
  private readonly server = discardingServer((_head, recipients) => {
    this.transactions++;
    this.recipients += recipients;
    this.lastAt = performance.now();
  });

  async start(): Promise<void> {
    this.port = await listenLoopback(this.server);
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
