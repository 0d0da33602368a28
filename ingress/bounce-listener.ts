/**
 * The inbound listener for delayed bounces (D7), on `PETREL_BOUNCE_PORT`: smtp-server accepting
 * mail only for return-path hosts and only for VERP addresses we issued (verp.ts), parsing the
 * report (dsn.ts), and telling the recipient domain's actor, which turns a `Delivered`
 * recipient into a soft or hard bounce. A report that is not a bounce (an auto-reply) is
 * accepted and dropped, so the remote MTA does not retry it.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from "smtp-server";
import type { DomainMsg } from "../actors/domain/protocol.ts";
import { domainKey } from "../actors/keys.ts";
import { decisionOf } from "../shared/bounce/classify.ts";
import { parseBounce } from "../shared/bounce/dsn.ts";
import { decodeReturnPath, type VerpKey } from "../shared/bounce/verp.ts";
import type { Logger } from "../shared/log.ts";
import { domainOf } from "../shared/model/address.ts";

export interface BounceListenerOptions {
  host: string;
  port: number;
  /** Our name in the greeting. */
  name: string;
  verpKey: VerpKey | readonly VerpKey[];
  /** True for a return-path host of some sending domain (lower case). */
  isReturnPathHost(host: string): boolean;
  tell(key: string, msg: DomainMsg): Promise<void>;
  maxBytes?: number;
  log?: Logger;
}

/** What the listener did with one report, for logs and tests. */
export type BounceHandled =
  /** `recipientId` for a recipient's Return-Path; `messageId` for a message's (its actor picks the recipient). */
  | { ok: true; recipientId?: string; messageId?: string; domain: string; result: "soft" | "hard" }
  | { ok: false; why: string };

class SmtpReplyError extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

export class BounceListener {
  private server?: SMTPServer;
  private readonly listeners: ((h: BounceHandled) => void)[] = [];

  constructor(private readonly o: BounceListenerOptions) {}

  onHandled(fn: (h: BounceHandled) => void): void {
    this.listeners.push(fn);
  }

  async start(): Promise<number> {
    const o = this.o;
    this.server = new SMTPServer({
      name: o.name,
      banner: "bounce receiver",
      authOptional: true,
      disabledCommands: ["AUTH", "STARTTLS"],
      size: o.maxBytes ?? 10 * 1024 * 1024,
      logger: false,
      onRcptTo: (address: SMTPServerAddress, _s: SMTPServerSession, cb: (err?: Error | null) => void) => {
        const host = domainOf(address.address);
        if (!o.isReturnPathHost(host)) return cb(new SmtpReplyError(550, "5.7.1 Relay access denied"));
        if (!decodeReturnPath(address.address, o.verpKey).ok)
          return cb(new SmtpReplyError(550, "5.1.1 No such bounce address"));
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          this.handle(Buffer.concat(chunks), to)
            .then((results) => {
              for (const h of results) for (const l of this.listeners) l(h);
              cb();
            })
            .catch((e) => {
              o.log?.error({ err: e }, "bounce report could not be handled");
              cb(new SmtpReplyError(451, "4.3.0 Try again later"));
            });
        });
      },
    });
    this.server.on("error", (e) => o.log?.error({ err: e }, "bounce listener error"));
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(o.port, o.host, () => resolve());
    });
    return (this.server.server.address() as AddressInfo).port;
  }

  /** Parses one report addressed to `to` (VERP Return-Paths) and tells the domain actors. */
  async handle(raw: Buffer, to: string[]): Promise<BounceHandled[]> {
    const report = await parseBounce(raw);
    if (report.type !== "bounce") return [{ ok: false, why: report.why }];
    const out: BounceHandled[] = [];
    for (const address of [...to, ...report.verpCandidates]) {
      const v = decodeReturnPath(address, this.o.verpKey);
      if (!v.ok) continue;
      // One VERP address is one recipient: the report's (first) failed recipient is it. A
      // message's address (one transaction, several recipients) stands for all of them: each
      // failed recipient of the report, named by its addresses, for its domain actor to find.
      const failures = v.kind === "recipient" ? report.recipients.slice(0, 1) : report.recipients;
      for (const failed of failures) {
        const named =
          v.kind === "recipient"
            ? { recipientId: v.recipientId }
            : {
                messageId: v.messageId,
                addresses: [failed.recipient, failed.originalRecipient].filter(
                  (a): a is string => typeof a === "string" && a.length > 0,
                ),
              };
        // The domain actor that delivered it: the original recipient's domain, or the final one
        // (aliases rewrite it), or the returned message's To. An actor that did not deliver this
        // recipient ignores the bounce, so telling each candidate is safe.
        const domains = [
          ...new Set(
            [failed.originalRecipient, failed.recipient, ...(report.original?.to ?? [])]
              .map((a) => domainOf((a ?? "").replace(/^rfc822;\s*/i, "").replace(/>$/, "")))
              .filter((d) => d.length > 0),
          ),
        ];
        const domain = domains[0] ?? "";
        const result = failed.classification.result === "hard" ? "hard" : "soft";
        for (const d of domains) {
          await this.o.tell(domainKey(d), {
            t: "bounce",
            bounce: {
              ...named,
              result,
              reason: failed.classification.reason,
              remoteReply: failed.diagnostic ?? failed.status ?? "",
              mxHost: failed.remoteMta ?? "",
              decision: decisionOf(failed.classification),
            },
          });
        }
        out.push({
          ok: true,
          ...(v.kind === "recipient" ? { recipientId: v.recipientId } : { messageId: v.messageId }),
          domain,
          result,
        });
      }
      if (out.length > 0) break;
    }
    return out.length > 0 ? out : [{ ok: false, why: "no_verp_address" }];
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export interface BounceJobDeps {
  host: string;
  port: number;
  name: string;
  verpKey: VerpKey;
  directory: { sendingDomains(): readonly { returnPathHost: string }[] };
  actors: { tell(key: string, msg: unknown): Promise<void> };
  log: Logger;
}

/**
 * The listener as a job of the composition root (relay.ts). A bounce port that cannot be bound
 * (port 25 without the privilege, or taken) is logged loudly and does not stop the relay: delivery
 * still works, only delayed bounces (D7) are not received.
 */
export async function startBounceListener(
  d: BounceJobDeps,
): Promise<{ port?: number; close(): Promise<void> }> {
  const listener = new BounceListener({
    host: d.host,
    port: d.port,
    name: d.name,
    verpKey: d.verpKey,
    isReturnPathHost: (host) =>
      d.directory.sendingDomains().some((s) => s.returnPathHost.toLowerCase() === host),
    tell: (key, msg) => d.actors.tell(key, msg),
    log: d.log.child({ component: "bounces" }),
  });
  try {
    const port = await listener.start();
    d.log.info({ port }, "delayed-bounce listener started");
    return { port, close: () => listener.stop() };
  } catch (e) {
    d.log.error(
      { err: e, port: d.port },
      "delayed-bounce listener could not start (D7 bounces are not received)",
    );
    return { close: async () => {} };
  }
}
