/**
 * The one typed error of the SMTP surface (STYLE: typed errors mapped once per surface). Every
 * policy step and handler throws `SmtpError(code, enhanced, text)`; `toCallbackError` is the one
 * adapter to smtp-server's callback, which writes `<code> <text>` (enhanced status codes are put
 * in the text here, smtp-server's own automatic ones are off).
 */
export class SmtpError extends Error {
  override readonly name = "SmtpError";
  constructor(
    readonly code: number,
    readonly enhanced: string,
    readonly text: string,
  ) {
    super(`${enhanced} ${text}`);
  }

  /** The reply line as the client sees it, e.g. `550 5.7.1 Sender domain <d> is not authenticated`. */
  get reply(): string {
    return `${this.code} ${this.enhanced} ${this.text}`;
  }
}

/** The replies Petrel's SMTP surface can send, by name (documented in docs/smtp-replies.md). */
export const Replies = {
  starttlsFirst: () => new SmtpError(530, "5.7.0", "Must issue a STARTTLS command first"),
  authRequired: () => new SmtpError(530, "5.7.0", "Authentication required"),
  authFailed: () => new SmtpError(535, "5.7.8", "Authentication credentials invalid"),
  ipBlocked: () =>
    new SmtpError(421, "4.7.0", "Too many failed logins from your IP address, try again later"),
  tooManyIpSessions: () =>
    new SmtpError(421, "4.7.0", "Too many simultaneous connections from your IP address"),
  tooManyUserSessions: () => new SmtpError(454, "4.7.0", "Too many simultaneous sessions for this SMTP user"),
  tooManyAccountSessions: () =>
    new SmtpError(454, "4.7.0", "Too many simultaneous sessions for this account"),
  sendingNotAllowed: () => new SmtpError(550, "5.7.1", "Sending is not enabled for this account"),
  senderNotAuthenticated: (domain: string) =>
    new SmtpError(550, "5.7.1", `Sender domain ${domain} is not authenticated`),
  /** S7: no author to check; SPEC gives no reply for it, this one is documented in docs/smtp-replies.md. */
  noHeaderFrom: () => new SmtpError(550, "5.7.1", "The From header is missing or has no address"),
  badAddress: (what: string) => new SmtpError(501, "5.1.3", `Bad ${what} address syntax`),
  utf8WithoutSmtputf8: () => new SmtpError(553, "5.6.7", "Non-ASCII address requires SMTPUTF8"),
  tooManyRecipients: () => new SmtpError(452, "4.5.3", "Too many recipients"),
  quotaReached: () => new SmtpError(452, "4.7.1", "Monthly sending quota reached"),
  tooLarge: () => new SmtpError(552, "5.3.4", "Message size exceeds fixed maximum message size"),
  headerTooLarge: () => new SmtpError(552, "5.3.4", "Message header exceeds the maximum header size"),
  /** mailsplit would drop a part, or not see it (intake.ts): refused rather than relayed unchecked or incomplete. */
  malformedMime: () =>
    new SmtpError(
      554,
      "5.6.0",
      "Malformed MIME structure: a part cannot be read (its headers must end with an empty line; nested multiparts need their own closed boundaries)",
    ),
  attachmentNotAllowed: (name: string) => new SmtpError(554, "5.7.1", `Attachment type not allowed: ${name}`),
  noValidRecipients: () => new SmtpError(554, "5.5.1", "No valid recipients"),
  /** Issue 17: the data or content volume is below its free-space floor (Postfix's queue_minfree). */
  insufficientStorage: () => new SmtpError(452, "4.3.1", "Insufficient system storage"),
  tempFailure: () => new SmtpError(451, "4.3.0", "Temporary failure, please try again later"),
  sessionTooLong: () => new SmtpError(421, "4.4.2", "Session time limit reached, closing connection"),
  idle: () => new SmtpError(421, "4.4.2", "Idle timeout, closing connection"),
  tooSlow: () => new SmtpError(421, "4.4.2", "Data rate too low, closing connection"),
  tooManyErrors: () => new SmtpError(421, "4.7.0", "Too many errors, closing connection"),
} as const;

/** smtp-server's callback error: `responseCode` picks the code, the message is the rest of the line. */
export function toCallbackError(e: unknown): Error & { responseCode: number } {
  const err = e instanceof SmtpError ? e : Replies.tempFailure();
  return Object.assign(new Error(`${err.enhanced} ${err.text}`), { responseCode: err.code });
}

/** Runs an async handler and hands its outcome to smtp-server's callback (the one adapter). */
export function adapt<T>(
  work: () => Promise<T>,
  callback: (err?: Error | null, value?: T) => void,
  onUnexpected?: (e: unknown) => void,
): void {
  work().then(
    (v) => callback(null, v),
    (e) => {
      if (!(e instanceof SmtpError)) onUnexpected?.(e);
      callback(toCallbackError(e));
    },
  );
}
