/**
 * Protocol hardening hooked into each smtp-server connection (S1, S13), in one place:
 * - before TLS only EHLO/HELO, STARTTLS, NOOP, RSET, QUIT are served; anything else gets
 *   `530 5.7.0 Must issue a STARTTLS command first` (smtp-server's own 538 never shows);
 * - replies whose text already carries an enhanced status code are sent as they are; the rest
 *   get smtp-server's enhanced code (refusals of HELO/EHLO too, which smtp-server leaves bare);
 * - error-count limit, per-command deadline, total session time (421, then close);
 * Returns the dispose function (timers), called when the session closes.
 * - RSET hands the open transaction back (quota release, S8);
 * - the greeting comes after `greetingDelayMs` (default 0), not smtp-server's fixed 100 ms
 *   (`greetAfter`).
 * smtp-server keeps STARTTLS pipelining safe itself (commands buffered before the handshake
 * are discarded) and ends DATA only on CRLF.CRLF (no bare LF/CR end: SMTP smuggling).
 */
import type { SMTPServerSession } from "smtp-server";
import { Replies, type SmtpError } from "./errors.ts";
import type { IngressLimits } from "./limits.ts";

/** The parts of smtp-server's (internal) SMTPConnection this module relies on. */
export interface RawConnection {
  secure: boolean;
  session: SMTPServerSession;
  _nextHandler?: unknown;
  /** Set while a message is being received. */
  _dataStream?: unknown;
  /** smtp-server's SMTPStream: counts the bytes of the current DATA. */
  _parser?: { dataBytes?: number } | false;
  send(code: number, data?: string | string[], context?: unknown): void;
  close(): void;
  _onCommand(command: Buffer, callback?: () => void): void;
  /** smtp-server's start: socket listeners, then (after its fixed 100 ms pause) the greeting. */
  init(): void;
  _setListeners(callback: () => void): void;
  /** Runs onConnect (and onSecure on SMTPS), then sends the greeting and accepts commands. */
  connectionReady(): void;
}

/**
 * Replaces smtp-server's `init` (3.21.x) with one whose greeting pause is configurable.
 * smtp-server waits a fixed 100 ms before greeting, to refuse "early talkers" (421 to anything
 * received before the greeting). That is a port-25 anti-spam device (Postfix's postscreen greet
 * wait; Postfix's submission service has none): on submission every sender must STARTTLS and
 * AUTH anyway, and the pause is 100 ms of every connection's life — with one message per
 * connection it capped a bare smtp-server at 0.63 × Postfix's accept rate (BENCHMARKS.md,
 * issue 4 (d)). Petrel greets at once by default; PETREL_SMTP_GREETING_DELAY_MS brings a pause
 * back. Early talkers are still refused either way while onConnect runs (smtp-server's `_ready`).
 * smtp-server's own init also checks `maxClients`, an option Petrel does not set (S4 limits
 * sessions per IP, user and account itself).
 */
export function greetAfter(conn: RawConnection, delayMs: number): void {
  conn.init = () =>
    conn._setListeners(() => {
      if (delayMs <= 0) return conn.connectionReady();
      setTimeout(() => conn.connectionReady(), delayMs).unref();
    });
}

export const PRE_TLS_COMMANDS: ReadonlySet<string> = new Set([
  "EHLO",
  "HELO",
  "STARTTLS",
  "NOOP",
  "RSET",
  "QUIT",
]);
const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;
/** Contexts for which smtp-server writes no enhanced status code. */
const HELLO: ReadonlySet<string> = new Set(["HELO", "EHLO", "LHLO"]);

/** Pure: what to do with a command line given the TLS state. */
export function preTlsVerdict(commandName: string, secure: boolean): SmtpError | null {
  return secure || PRE_TLS_COMMANDS.has(commandName) ? null : Replies.starttlsFirst();
}

/** smtp-server's own replies that SPEC fixes differently (S6, S9), rewritten to Petrel's. */
export function rewriteBuiltin(code: number, text: string): SmtpError | null {
  if (code === 552 && /^Error: message exceeds fixed maximum message size/.test(text))
    return Replies.tooLarge();
  const bad = /^Error: Bad (sender|recipient) address syntax/.exec(text);
  if (code === 501 && bad) return Replies.badAddress(bad[1] as string);
  return null;
}

export function commandName(line: Buffer | string): string {
  const s = line.toString("latin1", 0, Math.min(line.length, 16));
  return (/^\s*([A-Za-z]+)/.exec(s)?.[1] ?? "").toUpperCase();
}

export function hardenConnection(
  conn: RawConnection,
  o: {
    limits: IngressLimits;
    onReset(session: SMTPServerSession): void;
    /** A RCPT that smtp-server's parser refused (S9: still a Rejected row). */
    onBadRecipient(session: SMTPServerSession, commandLine: string): void;
    /** A RCPT smtp-server refused with 503 because no MAIL FROM was accepted (S7 Rejected rows). */
    onRecipientWithoutSender?(session: SMTPServerSession, commandLine: string): void;
    /** X4: every reply of class 4 or 5 sent to the client. */
    onRefusal?(code: number): void;
  },
): () => void {
  greetAfter(conn, o.limits.greetingDelayMs);
  const raw = conn.send.bind(conn);
  const send: typeof raw = (code, data, context) => {
    if (code >= 400) o.onRefusal?.(code);
    raw(code, data, context);
  };
  const onCommand = conn._onCommand.bind(conn);
  let errors = 0;
  let lastCommand = { name: "", line: "" };
  let closed = false;

  const shut = (e: SmtpError) => {
    if (closed) return;
    closed = true;
    send(e.code, `${e.enhanced} ${e.text}`, false);
    conn.close();
  };

  conn.send = (code, data, context) => {
    if (closed) return;
    if (code === 538)
      return conn.send(530, `${Replies.starttlsFirst().enhanced} ${Replies.starttlsFirst().text}`);
    const builtin = typeof data === "string" ? rewriteBuiltin(code, data) : null;
    if (builtin) {
      if (builtin.code === 501 && lastCommand.name === "RCPT")
        o.onBadRecipient(conn.session, lastCommand.line);
      return conn.send(builtin.code, `${builtin.enhanced} ${builtin.text}`);
    }
    if (code === 503 && lastCommand.name === "RCPT" && data === "Error: need MAIL command")
      o.onRecipientWithoutSender?.(conn.session, lastCommand.line);
    const own = typeof data === "string" && ENHANCED.test(data);
    // smtp-server writes no enhanced code for HELO/EHLO answers and where it passes `false`, refusals
    // included ("501 Error: syntax: EHLO hostname", found by tests/fuzz/targets/smtp.ts): a refusal
    // gets its code's default one (501 → 5.5.4), as every other refusal does.
    const bare = context === false || (typeof context === "string" && HELLO.has(context));
    const ctx = code >= 400 && bare ? undefined : context;
    send(code, data, own ? false : ctx);
    if (code >= 500) {
      errors++;
      if (errors >= o.limits.maxBadCommands) shut(Replies.tooManyErrors());
    }
  };

  // S13 minimum data rate: a client dripping its message is cut once, after the idle window,
  // it has sent less than `minDataRate` bytes per second on average.
  let rate: NodeJS.Timeout | undefined;
  const watchData = (startedAt: number) => {
    clearInterval(rate);
    rate = setInterval(
      () => {
        if (!conn._dataStream) return clearInterval(rate);
        const elapsed = Date.now() - startedAt;
        const parser = conn._parser || undefined;
        const bytes = parser?.dataBytes ?? 0;
        if (elapsed >= o.limits.idleTimeoutMs && bytes < (o.limits.minDataRate * elapsed) / 1000) {
          clearInterval(rate);
          shut(Replies.tooSlow());
        }
      },
      Math.min(1_000, o.limits.idleTimeoutMs),
    );
    rate.unref();
  };
  let deadline: NodeJS.Timeout | undefined;
  const arm = (ms: number) => {
    clearTimeout(deadline);
    deadline = setTimeout(() => shut(Replies.idle()), ms);
    deadline.unref();
  };
  arm(o.limits.idleTimeoutMs);
  const total = setTimeout(() => shut(Replies.sessionTooLong()), o.limits.maxSessionMs);
  total.unref();

  conn._onCommand = (command, callback) => {
    const continuation = !!conn._nextHandler;
    const name = continuation ? "" : commandName(command);
    // DATA's deadline is the session's: the message itself is bounded by size and total time.
    arm(name === "DATA" ? o.limits.maxSessionMs : o.limits.idleTimeoutMs);
    if (!continuation) {
      const refusal = preTlsVerdict(name, conn.secure);
      if (refusal) {
        conn.send(refusal.code, `${refusal.enhanced} ${refusal.text}`);
        setImmediate(() => callback?.());
        return;
      }
      if (name === "RSET") o.onReset(conn.session);
      if (name === "DATA") watchData(Date.now());
      lastCommand = {
        name,
        line: name === "RCPT" ? command.toString("utf8", 0, Math.min(command.length, 600)) : "",
      };
    }
    onCommand(command, callback);
  };

  return () => {
    closed = true;
    clearTimeout(deadline);
    clearTimeout(total);
    clearInterval(rate);
  };
}
