/**
 * The submission session's handlers (S2–S11, S14), async and throwing `SmtpError`; server.ts
 * adapts them to smtp-server's callbacks once. Per-connection state lives here by session id.
 */
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerDataStream,
  SMTPServerSession,
} from "smtp-server";
import { domainOf } from "../shared/model/address.ts";
import type { StatusEvent } from "../shared/model/event.ts";
import { PublishFailedError, publishAccepted, publishEvents, rejectedEvent } from "./accept.ts";
import { ClientGate } from "./client-gate.ts";
import { messageOutcome, type StoredMessage, storeMessage } from "./commit.ts";
import type { IngressDeps } from "./deps.ts";
import { Replies, SmtpError } from "./errors.ts";
import { newMessageId } from "./ids.ts";
import { type IngressMetrics, ingressMetrics } from "./metrics.ts";
import {
  addressRefusal,
  dataRefusalReason,
  declaredSizeVerdict,
  isSandbox,
  parseMailbox,
  type Refusal,
  recipientCountVerdict,
  senderVerdict,
  storageVerdict,
} from "./policy.ts";
import type { Principal, Transaction } from "./transaction.ts";

interface Conn {
  ip: string;
  /** S4: this connection holds a slot of its IP's block on this node (client-gate.ts), once admitted. */
  ipSlot?: boolean;
  /** S3: failures from this IP known here (at connect, then this connection's own). */
  failures: number;
  /** S3: the answer to this connection's last failed AUTH; its next AUTH waits for it. */
  lastFailure?: Promise<void>;
  /** Set once AUTH took a session slot (S4), given back at close. */
  principal?: Principal;
  tx?: Transaction;
  /**
   * S7: a refused MAIL FROM, held until the client moves on (next MAIL, RSET, QUIT or close) so
   * that its Rejected events name the recipients the client still sent (each got 503).
   */
  refused?: RefusedSender;
}

interface RefusedSender {
  tx: Transaction;
  refusal: Refusal;
  recipients: { address: string; domain: string }[];
}

/** The address of a RCPT line smtp-server did not parse: inside `<>` if any, at most 320 characters. */
function rcptLineAddress(line: string): string {
  return (/<([^<>]*)>/.exec(line)?.[1] ?? line.replace(/^RCPT\s+TO:\s*/i, "")).slice(0, 320);
}

export class SubmissionHandlers {
  /** S3 and S4 per client IP, cluster-wide through the client actors (client-gate.ts). */
  readonly client: ClientGate;
  /** This node's connections per IP (`count(ip)`), for tests and metrics. */
  readonly ipSlots: Pick<ClientGate, "count">;
  readonly metrics: IngressMetrics;
  private readonly conns = new Map<string, Conn>();

  constructor(private readonly d: IngressDeps) {
    this.client = new ClientGate({
      port: d.clients,
      nodeId: d.nodeId,
      sessionLeaseMs: d.limits.sessionLeaseMs,
      idleMs: d.limits.sessionCreditIdleMs,
      now: () => d.now(),
      log: d.log,
    });
    this.ipSlots = this.client;
    this.metrics = ingressMetrics(d.metrics);
  }

  /** S3, S4 (IP): refused connections get 421 4.7.0 at the greeting (451 if the actor is out of reach). */
  async connect(session: SMTPServerSession): Promise<void> {
    const c: Conn = { ip: session.remoteAddress, failures: 0 };
    this.conns.set(session.id, c);
    let admitted: Awaited<ReturnType<ClientGate["admit"]>>;
    try {
      admitted = await this.client.admit(c.ip);
    } catch (e) {
      if (this.conns.get(session.id) === c) this.conns.delete(session.id);
      throw e;
    }
    if (this.conns.get(session.id) !== c) {
      // the connection closed while its slot was being taken
      this.client.release(c.ip);
      throw Replies.tempFailure();
    }
    c.ipSlot = true;
    c.failures = admitted.failures;
  }

  /** S2, S3, S4 (user, account). */
  async auth(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<{ user: Principal }> {
    const c = this.conn(session);
    if (!session.secure) throw Replies.starttlsFirst();
    await c.lastFailure;
    if (this.client.blocked(c.ip)) throw Replies.ipBlocked();
    // A connection that knows of failures from its IP asks: the block may come from another node.
    if (c.failures > 0 && (await this.client.blockedNow(c.ip))) throw Replies.ipBlocked();
    // S2: PLAIN with an authorization identity that is empty or equal to the user.
    if (auth.method === "PLAIN" && auth.authzid && auth.authcid && auth.authzid !== auth.authcid)
      throw Replies.authFailed();
    const p = await this.d.authenticate(auth.username ?? "", auth.password ?? "");
    if (!p) {
      this.metrics.authFailures.inc();
      c.failures++;
      // Not awaited: 535 goes out now; the next AUTH on this connection waits for the verdict.
      c.lastFailure = this.client.failed(c.ip).then((v) => {
        if (!v?.started) return;
        this.metrics.ipBlocks.inc();
        this.d.log.warn({ ip: c.ip }, "S3: IP blocked after failed logins");
      });
      throw Replies.authFailed();
    }
    if (c.failures > 0) {
      c.failures = 0;
      this.client.succeeded(c.ip);
    }
    // S4: a slot from this node's block of the user's session slots (session-credit.ts).
    const grant = await this.d.accounts.acquireSession(p.accountId, p.username);
    if (!grant.granted)
      throw grant.refusedBy === "user" ? Replies.tooManyUserSessions() : Replies.tooManyAccountSessions();
    const principal = { accountId: p.accountId, username: p.username };
    if (this.conns.get(session.id) !== c || c.principal) {
      // the connection closed (or authenticated) while the slot was being taken
      this.d.accounts.releaseSession(p.accountId, p.username);
      throw Replies.tempFailure();
    }
    c.principal = principal;
    return { user: principal };
  }

  /** S6, S7 (envelope), starts a transaction. */
  async mailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const c = this.conn(session);
    const principal = this.principal(c);
    await this.endTx(c);
    await this.flushRefused(c);
    const args = (address.args || {}) as Record<string, string | boolean>;
    const smtputf8 = args.SMTPUTF8 === true;
    const size = typeof args.SIZE === "string" ? Number(args.SIZE) : undefined;
    const tooLarge = declaredSizeVerdict(size, this.d.limits.maxMessageBytes);
    if (tooLarge) throw tooLarge;
    const sender = parseMailbox(address.address, smtputf8);
    if (sender === null || sender === "utf8") throw addressRefusal(sender, "sender").error;
    // Issue 17: below the free-space floor, no new message (Postfix answers at MAIL FROM too).
    const refusal =
      storageVerdict(this.d.storage) ??
      senderVerdict(this.d.directory.account(principal.accountId), sender.domain);
    const tx: Transaction = {
      messageId: newMessageId(this.d.now()),
      principal,
      sender,
      smtputf8,
      seq: 0,
      accepted: [],
      reserved: 0,
      startedAt: this.d.now(),
    };
    if (refusal) {
      // S7: Rejected rows once the recipients the client goes on to send are known (flushRefused).
      c.refused = { tx, refusal, recipients: [] };
      throw refusal.error;
    }
    // S9: the suppression read barrier of this transaction starts now, while the client reads the reply.
    const suppressions = this.d.suppressions?.();
    if (suppressions) tx.suppressions = suppressions;
    c.tx = tx;
  }

  /** S5, S8, S9, S14, in RCPT order; every refusal is a Rejected event. */
  async rcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const c = this.conn(session);
    const tx = c.tx;
    if (!tx) throw new SmtpError(503, "5.5.1", "MAIL first");
    const seq = tx.seq++;
    const mailbox = parseMailbox(address.address, tx.smtputf8);
    const refuse = async (refusal: Refusal, addr: string): Promise<never> => {
      await this.publishRejected([this.refusedEvent(tx, addr, domainOf(addr), refusal, seq)]);
      throw refusal.error;
    };
    if (mailbox === null || mailbox === "utf8")
      return refuse(addressRefusal(mailbox, "recipient"), address.address);
    const tooMany = recipientCountVerdict(tx.accepted.length, this.d.limits.maxRecipients);
    if (tooMany) return refuse(tooMany, mailbox.address);
    const isTest = isSandbox(mailbox.domain, this.d.limits.sandboxDomain);
    const suppressed =
      !isTest && ((await tx.suppressions?.isSuppressed(tx.principal.accountId, mailbox.address)) ?? false);
    if (!isTest && !suppressed) {
      const grant = await this.d.accounts.reserve(tx.principal.accountId, 1);
      if (grant.granted < 1) {
        return refuse(
          grant.reason === "account_inactive"
            ? { error: Replies.sendingNotAllowed(), reason: "plan_inactive" }
            : { error: Replies.quotaReached(), reason: "quota_reached" },
          mailbox.address,
        );
      }
      if (c.tx !== tx) {
        // RSET or close while reserving: give it back at once
        await this.d.accounts.release(tx.principal.accountId, 1, grant.periodStart);
        throw Replies.tempFailure();
      }
      tx.reserved++;
      tx.periodStart = grant.periodStart;
    }
    tx.accepted.push({ seq, mailbox, isTest, suppressed });
  }

  /** S6, S10, S11, S12, S7 (header From). */
  async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const c = this.conn(session);
    const tx = c.tx;
    if (!tx || tx.accepted.length === 0) {
      stream.resume();
      throw Replies.noValidRecipients();
    }
    const full = storageVerdict(this.d.storage);
    if (full) {
      // the floor was crossed since MAIL FROM: the content is not written
      stream.resume();
      await this.refuseAll(c, tx, full.error);
      throw full.error;
    }
    const acceptedAt = this.d.now();
    let stored: StoredMessage;
    try {
      stored = await storeMessage(this.d, tx, stream, acceptedAt);
    } catch (e) {
      if (e instanceof SmtpError) await this.refuseAll(c, tx, e);
      else {
        this.writeFailed();
        await this.endTx(c);
      }
      throw e;
    }
    const { events, records } = messageOutcome(tx, stored, acceptedAt);
    c.tx = undefined; // detached: a close from now on must not release what is being committed
    try {
      await publishAccepted(this.d.actors, this.d.bus, records, events);
    } catch (e) {
      // Not durable: 451, the client retries. No record refers to the content: remove it (a
      // failure the bus reports after storing records anyway — a Kafka timeout — leaves a record
      // whose content is gone; the client's retry is the message that counts).
      this.writeFailed();
      await this.endTx({ ip: c.ip, failures: 0, tx });
      if (!(e instanceof PublishFailedError && e.recordsPublished)) {
        await this.d.store.delete(stored.stored.ref).catch((err) => {
          this.d.log.error({ err, messageId: tx.messageId }, "S11: orphan content not removed");
        });
      }
      throw e;
    }
    if (records.length === 0) {
      // X5: every recipient was suppressed — nothing will be delivered, so nothing refers to the content.
      await this.d.store.delete(stored.stored.ref).catch((err) => {
        this.d.log.error(
          { err, messageId: tx.messageId },
          "X5: content of an undeliverable message not removed",
        );
      });
    }
    this.metrics.messagesAccepted.inc();
    this.metrics.recipientsAccepted.inc(records.length);
    for (const e of events) this.metrics.recipientsRejected.inc({ reason: e.reason });
    return `2.0.0 OK queued as ${tx.messageId}`;
  }

  /** S9: a RCPT line smtp-server's parser refused as malformed: a Rejected row all the same. */
  async badRecipient(session: SMTPServerSession, line: string): Promise<void> {
    const tx = this.conns.get(session.id)?.tx;
    if (!tx) return;
    const address = rcptLineAddress(line);
    const refusal = addressRefusal(null, "recipient");
    await this.publishRejected([this.refusedEvent(tx, address, domainOf(address), refusal, tx.seq++)]);
  }

  /** S7: a RCPT after a refused MAIL FROM (smtp-server answered 503): one more would-be recipient. */
  recipientAfterRefusedSender(session: SMTPServerSession, line: string): void {
    const refused = this.conns.get(session.id)?.refused;
    if (!refused || refused.recipients.length >= this.d.limits.maxRecipients) return;
    const address = rcptLineAddress(line);
    refused.recipients.push({ address, domain: domainOf(address) });
  }

  /** RSET: the open transaction gives its reservations back. */
  async reset(session: SMTPServerSession): Promise<void> {
    const c = this.conns.get(session.id);
    if (!c) return;
    await this.endTx(c);
    await this.flushRefused(c);
  }

  async close(session: SMTPServerSession): Promise<void> {
    const c = this.conns.get(session.id);
    if (!c) return;
    this.conns.delete(session.id);
    if (c.ipSlot) this.client.release(c.ip);
    if (c.principal) this.d.accounts.releaseSession(c.principal.accountId, c.principal.username);
    await this.endTx(c);
    await this.flushRefused(c);
  }

  /** Sessions currently open on this node (tests, metrics). */
  get openSessions(): number {
    return this.conns.size;
  }

  private async refuseAll(c: Conn, tx: Transaction, e: SmtpError): Promise<void> {
    const reason = dataRefusalReason(e);
    const events = tx.accepted.map((r) =>
      this.refusedEvent(tx, r.mailbox.address, r.mailbox.domain, { error: e, reason }, r.seq, r.isTest),
    );
    await this.endTx(c);
    await this.publishRejected(events);
  }

  /**
   * S7, A1: the Rejected rows of a refused sender: one per recipient the client sent after it, or
   * one message-level row (empty recipient) when it sent none.
   */
  private async flushRefused(c: Conn): Promise<void> {
    const r = c.refused;
    if (!r) return;
    c.refused = undefined;
    const events =
      r.recipients.length === 0
        ? [this.refusedEvent(r.tx, "", "", r.refusal)]
        : r.recipients.map((x, seq) =>
            this.refusedEvent(
              r.tx,
              x.address,
              x.domain,
              r.refusal,
              seq,
              isSandbox(x.domain, this.d.limits.sandboxDomain),
            ),
          );
    await this.publishRejected(events);
  }

  private async publishRejected(events: StatusEvent[]): Promise<void> {
    for (const e of events) this.metrics.recipientsRejected.inc({ reason: e.reason });
    await publishEvents(this.d.bus, events);
  }

  /** A write that failed (a full disk answers 451 4.3.0): the free-space floor is measured at once. */
  private writeFailed(): void {
    void this.d.storage?.check().catch(() => undefined);
  }

  /** Ends the open transaction, releasing what it reserved (S8). */
  private async endTx(c: Conn): Promise<void> {
    const tx = c.tx;
    c.tx = undefined;
    if (tx && tx.reserved > 0) {
      await this.d.accounts.release(tx.principal.accountId, tx.reserved, tx.periodStart).catch((err) => {
        this.d.log.error({ err, messageId: tx.messageId }, "S8: quota release failed");
      });
    }
  }

  private refusedEvent(
    tx: Pick<Transaction, "messageId" | "principal" | "sender" | "headers">,
    recipient: string,
    domain: string,
    refusal: Refusal,
    seq = 0,
    isTest = false,
  ): StatusEvent {
    return rejectedEvent(tx, { recipient, domain, refusal, seq, isTest, ts: this.d.now() });
  }

  private conn(session: SMTPServerSession): Conn {
    const c = this.conns.get(session.id);
    if (!c) throw Replies.tempFailure();
    return c;
  }

  private principal(c: Conn): Principal {
    if (!c.principal) throw Replies.authRequired();
    return c.principal;
  }
}
