/**
 * S9 at RCPT (issue 16): is this recipient on the account's suppression list? Answered from this
 * node's SuppressionView after its read barrier, not by an ask to the suppression actor per
 * recipient. The actor is asked only when the view cannot answer: an account whose list is not on
 * the topic yet (that ask publishes it), a barrier that timed out or failed.
 *
 * The barrier is taken once per SMTP transaction, at MAIL FROM (`at()`), and every RCPT of the
 * transaction waits for that one: an address the API acknowledged before the transaction began,
 * on any node, counts. On the Kafka bus a barrier is a ListOffsets round trip to the broker
 * (measured 6–11 ms of every RCPT in cluster mode); started at MAIL FROM it runs while the client
 * reads the MAIL reply, and a message to five recipients waits for one instead of five.
 */
import type { SuppressionView } from "../../shared/suppression/view.ts";
import type { SuppressionService } from "./suppression.ts";

/** Suppression checks that all answer as of one read barrier (one SMTP transaction's). */
export interface SuppressionLookup {
  isSuppressed(accountId: string, address: string): Promise<boolean>;
}

export class SuppressionCheck {
  constructor(
    private readonly view: Pick<SuppressionView, "sync" | "covers" | "has">,
    private readonly actors: Pick<SuppressionService, "has">,
  ) {}

  /** The lists as of now: the read barrier starts at once; each check through it waits for that barrier. */
  at(): SuppressionLookup {
    const barrier = this.current();
    return { isSuppressed: (accountId, address) => this.check(barrier, accountId, address) };
  }

  /** One check with a barrier of its own (started now). */
  isSuppressed(accountId: string, address: string): Promise<boolean> {
    return this.check(this.current(), accountId, address);
  }

  private async check(barrier: Promise<boolean>, accountId: string, address: string): Promise<boolean> {
    if ((await barrier) && this.view.covers(accountId)) return this.view.has(accountId, address);
    return this.actors.has(accountId, address);
  }

  /** The view's read barrier; a barrier that fails (the bus cannot give its end offsets) is one the view cannot answer after. */
  private async current(): Promise<boolean> {
    try {
      return await this.view.sync();
    } catch {
      return false;
    }
  }
}
