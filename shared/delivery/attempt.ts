/**
 * One delivery attempt (D1, D2, D6) as named steps: resolve the MX hosts, read the content,
 * sign it, try each MX in preference order until one gives an SMTP answer, classify it.
 * Returns the outcome for the domain actor; throws nothing for expected failures.
 */
import type SMTPConnection from "nodemailer/lib/smtp-connection";
import type { SendingDomain } from "../../actors/account/protocol.ts";
import type { AttemptRequest, Outcome } from "../../actors/domain/protocol.ts";
import { classifyReply, classifyTransport } from "../bounce/classify.ts";
import type { Phase } from "../bounce/rules.ts";
import { encodeVerp, type VerpKey } from "../bounce/verp.ts";
import type { ContentStore } from "../content/store.ts";
import { signMessage } from "./dkim.ts";
import type { MxResolver } from "./mx.ts";
import type { ConnectionPool } from "./pool.ts";

export interface AttemptDeps {
  mx: MxResolver;
  /** A record of the MX host's addresses (through the configured resolver, never the system's). */
  addresses(host: string): Promise<string[]>;
  pool: ConnectionPool;
  content: ContentStore;
  sendingDomain(accountId: string, domain: string): Promise<SendingDomain | undefined>;
  verpKey: VerpKey | readonly VerpKey[];
  port: number;
  now(): number;
}

interface SmtpFailure {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  message?: string;
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

async function readAll(store: ContentStore, ref: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(ref)) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

export async function attempt(req: AttemptRequest, d: AttemptDeps): Promise<Outcome> {
  const r = req.record;
  const base = { recipientId: r.recipientId, lease: req.lease };
  // 1. MX hosts (D1)
  const mx = await d.mx.resolve(r.recipientDomain);
  if (!mx.ok) {
    const c = classifyTransport(mx.kind === "temporary" ? "dns_temporary" : mx.kind);
    return { ...base, result: c.result, reason: c.reason, remoteReply: mx.detail, mxHost: "" };
  }
  // 2. content, signed (D3), with the VERP Return-Path (D4)
  const sending = await d.sendingDomain(r.accountId, r.sendingDomain);
  let message = await readAll(d.content, r.contentRef);
  if (sending) message = await signMessage(message, sending, new Date(d.now()));
  const returnPathHost = sending?.returnPathHost ?? r.sendingDomain;
  const from = encodeVerp(r.recipientId, returnPathHost, d.verpKey);
  // 3. each MX in order until one answers
  const failures: string[] = [];
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
          const c = classifyReply(f.response, "CONNECT");
          return {
            ...base,
            result: c.result,
            reason: c.reason,
            remoteReply: f.response,
            mxHost: host.exchange,
          };
        }
        failures.push(`${host.exchange} [${ip}]: ${f.message ?? String(e)}`);
        continue;
      }
      const sent = await send(
        lease.conn,
        {
          from,
          to: r.recipient,
          size: message.length,
          use8BitMime: r.eightBit || r.smtputf8,
        },
        message,
      );
      if (sent.ok) {
        lease.release(false);
        return {
          ...base,
          result: "delivered",
          reason: "none",
          remoteReply: sent.response,
          mxHost: host.exchange,
        };
      }
      const f = sent.error;
      if (f.responseCode !== undefined && f.response && !CONNECTION_CODES.has(f.code ?? "")) {
        // A reply: keep the connection for the next message after RSET, unless it was closed.
        lease.release(f.responseCode === 421 || !(await reset(lease.conn)));
        const c = classifyReply(f.response, phaseOf(f.command));
        return {
          ...base,
          result: c.result,
          reason: c.reason,
          remoteReply: f.response,
          mxHost: host.exchange,
        };
      }
      lease.release(true);
      failures.push(`${host.exchange} [${ip}]: ${f.message ?? f.code ?? "connection failed"}`);
    }
  }
  const c = classifyTransport("connection_failed");
  return {
    ...base,
    result: c.result,
    reason: c.reason,
    remoteReply: failures.join("; "),
    mxHost: mx.hosts[0]?.exchange ?? "",
    allMxFailed: true,
  };
}

function reset(conn: SMTPConnection): Promise<boolean> {
  return new Promise((resolve) => conn.reset((err) => resolve(!err)));
}

type SendResult = { ok: true; response: string } | { ok: false; error: SmtpFailure };

function send(
  conn: SMTPConnection,
  envelope: { from: string; to: string; size: number; use8BitMime: boolean },
  message: Buffer,
): Promise<SendResult> {
  return new Promise((resolve) => {
    conn.send(envelope, message, (err, info) => {
      if (err) return resolve({ ok: false, error: err as SmtpFailure });
      if (info.rejected.length > 0) {
        const e = info.rejectedErrors?.[0] as SmtpFailure | undefined;
        return resolve({ ok: false, error: { ...e, command: e?.command ?? "RCPT TO" } });
      }
      resolve({ ok: true, response: info.response });
    });
  });
}
