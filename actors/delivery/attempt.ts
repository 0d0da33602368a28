/**
 * One delivery attempt (D1, D2, D6) as named steps: resolve the MX hosts, read the content,
 * sign it, try each MX in preference order until one gives an SMTP answer, classify it.
 * Returns the outcome for the domain actor; throws nothing for expected failures.
 *
 * An attempt may carry several recipients of one message (`AttemptRequest.records`): one
 * transaction — one MAIL FROM (the message's VERP Return-Path), one RCPT each, one DATA — and one
 * DKIM signature. Each recipient gets its own outcome: a refused RCPT its own reply and
 * classification, the others the reply to DATA.
 */
import type SMTPConnection from "nodemailer/lib/smtp-connection";
import {
  type Classification,
  classifyReply,
  classifyTransport,
  decisionOf,
} from "../../shared/bounce/classify.ts";
import type { Phase } from "../../shared/bounce/rules.ts";
import { encodeMessageVerp, encodeVerp, type VerpKey } from "../../shared/bounce/verp.ts";
import type { ContentStore } from "../../shared/content/store.ts";
import type { SendingDomain } from "../../shared/model/account/protocol.ts";
import type { AttemptRequest, Outcome } from "../domain/protocol.ts";
import { type DkimSignFn, type SignatureCache, signMessage } from "./dkim.ts";
import type { MxResolver } from "./mx.ts";
import { type ConnectionPool, offers } from "./pool.ts";

export interface AttemptDeps {
  mx: MxResolver;
  /** A record of the MX host's addresses (through the configured resolver, never the system's). */
  addresses(host: string): Promise<string[]>;
  pool: ConnectionPool;
  content: ContentStore;
  /** The sending domain with its DKIM keys; undefined when it does not exist; throws when unknown now. */
  sendingDomain(accountId: string, domain: string): Promise<SendingDomain | undefined>;
  verpKey: VerpKey | readonly VerpKey[];
  port: number;
  now(): number;
  /** DKIM signing (D3); false only where DKIM off is measured (benchmarks). Default true. */
  sign?: boolean;
  /** Where signatures are made: a worker-thread pool (DkimPool) or, by default, this thread. */
  signer?: DkimSignFn;
  /** X4: called when no DKIM signature could be made (the attempt is deferred). */
  onDkimFailure?(): void;
  /** Signatures made for a message, reused by its other transactions (the signature does not depend on the recipient). */
  signatures?: SignatureCache;
}

interface SmtpFailure {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  message?: string;
  /** The refused recipient of a failed RCPT (nodemailer). */
  recipient?: string;
  rejectedErrors?: SmtpFailure[];
}

const CONNECTION_CODES = new Set(["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ETLS"]);

/** The SMTP phase of a failed command (rules.ts), from nodemailer's `command`. */
export function phaseOf(command: string | undefined): Phase {
  const c = (command ?? "").toUpperCase();
  if (c.startsWith("RCPT")) return "RCPT";
  if (c.startsWith("MAIL")) return "MAIL";
  if (c.startsWith("DATA") || c === "." || c.includes("MESSAGE")) return "DATA";
  return "CONNECT";
}

/** The whole content; a store that hands it in one Buffer (the segment log) is not copied. */
async function readAll(store: ContentStore, ref: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(ref))
    chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/** The message as it goes out: the DKIM-Signature header field (none when not signing), then the stored bytes. */
type Prepared =
  | { ok: true; signature?: Buffer; message: Buffer; returnPathHost: string }
  | { ok: false; detail: string };
type ContentUnavailable = { ok: false; content: true; detail: string };

/**
 * The message as it goes out: DKIM-signed with the sending domain's active key (D3). When the
 * domain or its key cannot be had (the account actor does not answer, the domain is gone, the
 * key does not sign), the attempt is deferred: a message is never sent unsigned. Only `sign:
 * false` (benchmarks measuring DKIM off) sends without a signature.
 */
async function prepare(r: AttemptRequest["record"], d: AttemptDeps): Promise<Prepared | ContentUnavailable> {
  let message: Buffer;
  try {
    message = await readAll(d.content, r.contentRef);
  } catch (e) {
    // A content miss or a store outage is an outcome (deferred, retried on the schedule), not a
    // lost attempt whose lease must run out.
    return {
      ok: false,
      content: true,
      detail: `message content not readable: ${(e as Error).message ?? String(e)}`,
    };
  }
  const unavailable = (why: string): Prepared => {
    d.onDkimFailure?.();
    return {
      ok: false,
      detail: `DKIM signing for ${r.sendingDomain} unavailable (${why}); not sent unsigned, retried later`,
    };
  };
  let sending: SendingDomain | undefined;
  try {
    sending = await d.sendingDomain(r.accountId, r.sendingDomain);
  } catch (e) {
    if (d.sign !== false) return unavailable((e as Error).message ?? String(e));
  }
  if (d.sign === false)
    return { ok: true, message, returnPathHost: sending?.returnPathHost ?? r.sendingDomain };
  if (!sending) return unavailable("no such sending domain");
  try {
    const domain = sending;
    // The signature alone (it does not depend on the recipient): kept and shared where there is a cache.
    const make = () => (d.signer ?? signMessage)(message, domain, new Date(d.now()));
    const key = `${r.contentRef}\n${domain.domain}\n${domain.activeSelector}`;
    const signature = await (d.signatures ? d.signatures.signature(key, d.now(), make) : make());
    return { ok: true, signature, message, returnPathHost: domain.returnPathHost };
  } catch (e) {
    return unavailable((e as Error).message ?? String(e));
  }
}

export async function attempt(req: AttemptRequest, d: AttemptDeps): Promise<Outcome> {
  return (await attemptAll(req, d))[0] as Outcome;
}

/** The attempt of every recipient in `req` (one, or several of one message): an outcome each, in order. */
export async function attemptAll(req: AttemptRequest, d: AttemptDeps): Promise<Outcome[]> {
  const r = req.record;
  const records = req.records ?? [r];
  /** The outcome of this attempt: what happened, the reply (or why there is none), which host. */
  const outcome = (
    c: Pick<Outcome, "result" | "reason"> | Classification,
    remoteReply: string,
    mxHost: string,
    to: AttemptRequest["record"] = r,
  ): Outcome => ({
    recipientId: to.recipientId,
    lease: req.lease,
    result: c.result,
    reason: c.reason,
    remoteReply,
    mxHost,
    ...("rule" in c ? { decision: decisionOf(c) } : {}),
  });
  /** The same outcome for every recipient of the attempt (nothing was said to any one of them). */
  const all = (c: Pick<Outcome, "result" | "reason">, remoteReply: string, mxHost: string): Outcome[] =>
    records.map((to) => outcome(c, remoteReply, mxHost, to));
  // 1. MX hosts (D1)
  const mx = await d.mx.resolve(r.recipientDomain);
  if (!mx.ok) {
    const outs = all(classifyTransport(mx.kind === "temporary" ? "dns_temporary" : mx.kind), mx.detail, "");
    // A lookup that failed for now leaves no MX host to try: the domain is unreachable, as when
    // every MX refuses, and counts for its circuit (Postfix: "delivery temporarily suspended").
    return mx.kind === "temporary" ? outs.map((o) => ({ ...o, allMxFailed: true })) : outs;
  }
  // 2. content, signed (D3), with the VERP Return-Path (D4); unsigned never leaves: deferred
  const prepared = await prepare(r, d);
  if (!prepared.ok)
    return all(
      classifyTransport("content" in prepared ? "content_unavailable" : "signing_unavailable"),
      prepared.detail,
      "",
    );
  const { signature, message } = prepared;
  // One recipient: its own Return-Path. Several: the message's, the bounce's report names which.
  const from =
    records.length > 1
      ? encodeMessageVerp(r.messageId, prepared.returnPathHost, d.verpKey)
      : encodeVerp(r.recipientId, prepared.returnPathHost, d.verpKey);
  // 3. each MX in order until one answers
  const failures: string[] = [];
  // RFC 6531: a UTF-8 address goes only to a server that offers SMTPUTF8, never "as is".
  const needsUtf8 = records.some((to) => !isAscii(to.recipient));
  let noUtf8Host: string | undefined;
  for (const host of mx.hosts) {
    let ips: string[];
    try {
      ips = await d.addresses(host.exchange);
    } catch (e) {
      failures.push(`${host.exchange}: ${(e as Error).message}`);
      continue;
    }
    for (const ip of ips) {
      let lease: Awaited<ReturnType<ConnectionPool["acquire"]>>;
      try {
        lease = await d.pool.acquire(req.domain, host.exchange, ip, d.port, req.concurrency);
      } catch (e) {
        const f = e as SmtpFailure;
        if (f.responseCode !== undefined && f.response) {
          // The greeting or EHLO refused us: an answer, classified at CONNECT.
          return all(classifyReply(f.response, "CONNECT"), f.response, host.exchange);
        }
        failures.push(`${host.exchange} [${ip}]: ${f.message ?? String(e)}`);
        continue;
      }
      if (needsUtf8 && !offers(lease.conn, "SMTPUTF8")) {
        // Nothing sent yet: the connection stays good. Another MX host may offer it.
        lease.release(false);
        noUtf8Host ??= host.exchange;
        break;
      }
      const sent = await send(
        lease.conn,
        {
          from,
          to: records.map((to) => to.recipient),
          size: (signature?.length ?? 0) + message.length,
          use8BitMime: r.eightBit || r.smtputf8,
        },
        signature ? new Parts([signature, message]) : message,
      );
      if (sent.ok) {
        lease.release(false);
        // Each recipient: its refused RCPT's own reply, or the reply to DATA.
        return records.map((to) => {
          const refused = refusalOf(to.recipient, sent.rejected, sent.accepted);
          return refused
            ? outcome(
                classifyReply(refused.response ?? "", phaseOf(refused.command ?? "RCPT TO")),
                refused.response ?? "",
                host.exchange,
                to,
              )
            : outcome({ result: "delivered", reason: "none" }, sent.response, host.exchange, to);
        });
      }
      const f = sent.error;
      if (f.responseCode !== undefined && f.response && !CONNECTION_CODES.has(f.code ?? "")) {
        // A reply: keep the connection for the next message after RSET, unless it was closed.
        lease.release(f.responseCode === 421 || !(await reset(lease.conn)));
        // A refused RCPT keeps its own reply; the reply that ended the transaction (MAIL, every
        // RCPT refused, DATA) applies to the others.
        return records.map((to) => {
          const refused = ownRefusal(to.recipient, sent.rejected) ?? f;
          return outcome(
            classifyReply(refused.response ?? f.response ?? "", phaseOf(refused.command ?? f.command)),
            refused.response ?? f.response ?? "",
            host.exchange,
            to,
          );
        });
      }
      lease.release(true);
      failures.push(`${host.exchange} [${ip}]: ${f.message ?? f.code ?? "connection failed"}`);
    }
  }
  if (noUtf8Host !== undefined) {
    // As a server would refuse it (RFC 6531 §3.4, RFC 5248 5.6.7): a permanent failure about
    // the message's form, not the address: a soft bounce that does not suppress. While another
    // MX host could not be reached (it might offer SMTPUTF8), it is a deferral instead.
    const reply = `553 5.6.7 Internationalized recipient needs SMTPUTF8, which ${noUtf8Host} does not offer (RFC 6531)`;
    if (failures.length === 0) return all(classifyReply(reply, "RCPT"), reply, noUtf8Host);
    failures.unshift(`${noUtf8Host}: ${reply}`);
  }
  return all(classifyTransport("connection_failed"), failures.join("; "), mx.hosts[0]?.exchange ?? "").map(
    (o) => ({ ...o, allMxFailed: true }),
  );
}

/**
 * The refusal of `recipient`'s RCPT in a transaction, if it was refused: its own error (nodemailer
 * names the recipient), else none when the server accepted it. Compared without case.
 */
function refusalOf(
  recipient: string,
  rejected: readonly SmtpFailure[],
  accepted: readonly string[],
): SmtpFailure | undefined {
  const own = ownRefusal(recipient, rejected);
  if (own || accepted.some((x) => x.toLowerCase() === recipient.toLowerCase())) return own;
  // Neither accepted nor named in a refusal (not expected): the first refusal, never "delivered".
  return rejected[0];
}

function ownRefusal(recipient: string, rejected: readonly SmtpFailure[]): SmtpFailure | undefined {
  const a = recipient.toLowerCase();
  return rejected.find((e) => (e.recipient ?? "").toLowerCase() === a);
}

const isAscii = (s: string) => !/[\u0080-\uffff]/.test(s);

function reset(conn: SMTPConnection): Promise<boolean> {
  return new Promise((resolve) => conn.reset((err) => resolve(!err)));
}

type SendResult =
  | { ok: true; response: string; accepted: string[]; rejected: SmtpFailure[] }
  | { ok: false; error: SmtpFailure; rejected: SmtpFailure[] };

/** The refused RCPTs of the transaction in progress (nodemailer keeps them on its envelope, untyped). */
function refusedSoFar(conn: SMTPConnection): SmtpFailure[] {
  const env = (conn as unknown as { _envelope?: { rejectedErrors?: SmtpFailure[] } })._envelope;
  return [...(env?.rejectedErrors ?? [])];
}

/**
 * Buffers sent one after the other as one message, without copying them into one: nodemailer's
 * `send` takes a message with a `pipe` method as a stream and pipes it into its DATA encoder
 * (smtp-connection `send`: `message.pipe(stream)`), which is all this does. The signed 100 KiB
 * message of ingress (b) no longer costs a third 100 KiB buffer on its way out.
 */
export class Parts {
  constructor(readonly parts: readonly Buffer[]) {}

  pipe<T extends NodeJS.WritableStream>(dest: T): T {
    for (const p of this.parts) dest.write(p);
    dest.end();
    return dest;
  }
}

function send(
  conn: SMTPConnection,
  envelope: { from: string; to: string[]; size: number; use8BitMime: boolean },
  message: Buffer | Parts,
): Promise<SendResult> {
  return new Promise((resolve) => {
    conn.send(envelope, message as unknown as Buffer, (err, info) => {
      if (err) {
        const e = err as SmtpFailure;
        return resolve({ ok: false, error: e, rejected: e.rejectedErrors ?? refusedSoFar(conn) });
      }
      const rejected = (info.rejectedErrors ?? []) as SmtpFailure[];
      if (info.accepted.length === 0) {
        const e = rejected[0];
        return resolve({ ok: false, error: { ...e, command: e?.command ?? "RCPT TO" }, rejected });
      }
      resolve({ ok: true, response: info.response, accepted: info.accepted.map(String), rejected });
    });
  });
}
