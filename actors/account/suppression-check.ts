/**
 * S9 at RCPT (issue 16): is this recipient on the account's suppression list? Answered from this
 * node's SuppressionView after its read barrier (an address the API acknowledged before the RCPT,
 * on any node, counts), not by an ask to the suppression actor per recipient. The actor is asked
 * only when the view cannot answer: an account whose list is not on the topic yet (that ask
 * publishes it), a barrier that timed out or failed.
 */
import type { SuppressionView } from "../../shared/suppression/view.ts";
import type { SuppressionService } from "./suppression.ts";

export class SuppressionCheck {
  constructor(
    private readonly view: Pick<SuppressionView, "sync" | "covers" | "has">,
    private readonly actors: Pick<SuppressionService, "has">,
  ) {}

  async isSuppressed(accountId: string, address: string): Promise<boolean> {
    if ((await this.current()) && this.view.covers(accountId)) return this.view.has(accountId, address);
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
