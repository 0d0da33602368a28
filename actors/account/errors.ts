/**
 * The account service's one error type: a stable code from the actor's catalogue (protocol.ts
 * ACCOUNT_ERROR_CODES) and a human message. The HTTP API maps codes to statuses once; the CLI
 * prints the message.
 */
import type { AccountErrorCode } from "../../shared/model/account/protocol.ts";

export class AccountError extends Error {
  override readonly name = "AccountError";
  constructor(
    readonly code: AccountErrorCode,
    message: string,
  ) {
    super(message);
  }
}
