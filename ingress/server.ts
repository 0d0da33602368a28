/**
 * The submission listeners (S1): the submission port with STARTTLS and the SMTPS port with
 * implicit TLS, both on smtp-server, TLS 1.2+, AUTH PLAIN/LOGIN only after TLS, no reverse DNS,
 * the configured or generated certificate. Handlers (session.ts) are adapted to smtp-server's
 * callbacks here, once (errors.ts `adapt`).
 */
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from "smtp-server";
import { installDataFeedFastPath } from "./data-feed.ts";
import type { IngressDeps } from "./deps.ts";
import { adapt, Replies } from "./errors.ts";
import { hardenConnection, type RawConnection } from "./harden.ts";
import { SubmissionHandlers } from "./session.ts";
import type { TlsMaterial } from "./tls.ts";

export interface IngressOptions extends IngressDeps {
  host: string;
  submissionPort: number;
  smtpsPort: number;
  tls: Pick<TlsMaterial, "key" | "cert">;
  /** How long `close()` lets open sessions finish before cutting them (default 30 s). */
  closeTimeoutMs?: number;
}

export interface Ingress {
  readonly handlers: SubmissionHandlers;
  /** Bound ports (useful with port 0). */
  readonly ports: { submission: number; smtps: number };
  close(): Promise<void>;
}

export async function startIngress(o: IngressOptions): Promise<Ingress> {
  // DATA without smtp-server's per-byte copy and loop where no dot starts a line (data-feed.ts)
  if (!installDataFeedFastPath())
    o.log.warn("smtp-server's DATA parser is not the one data-feed.ts knows; its fast path is off");
  const handlers = new SubmissionHandlers(o);
  const disposers = new Map<string, () => void>();
  const pending = new Set<Promise<void>>();
  const unexpected = (e: unknown) => o.log.error({ err: e }, "ingress handler error");

  const options = (secure: boolean): SMTPServerOptions => ({
    secure,
    name: o.hostname,
    banner: "Petrel ESMTP",
    key: o.tls.key,
    cert: o.tls.cert,
    minVersion: "TLSv1.2",
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: false,
    authRequiredMessage: `${Replies.authRequired().enhanced} ${Replies.authRequired().text}`,
    disableReverseLookup: true,
    size: o.limits.maxMessageBytes,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    hideREQUIRETLS: true,
    socketTimeout: o.limits.idleTimeoutMs,
    maxCommandLength: o.limits.maxCommandLength,
    logger: false,
    closeTimeout: o.closeTimeoutMs ?? 30_000,
    onConnect(session, cb) {
      // S1: before TLS, AUTH is neither advertised nor served (harden.ts answers 530).
      if (!secure) session.disabledCommands = ["AUTH"];
      adapt(() => handlers.connect(session), cb, unexpected);
    },
    onSecure(_socket, session, cb) {
      session.disabledCommands = [];
      cb();
    },
    onAuth(auth, session, cb) {
      adapt(() => handlers.auth(auth, session), cb, unexpected);
    },
    onMailFrom(address, session, cb) {
      adapt(() => handlers.mailFrom(address, session), cb, unexpected);
    },
    onRcptTo(address, session, cb) {
      adapt(() => handlers.rcptTo(address, session), cb, unexpected);
    },
    onData(stream, session, cb) {
      adapt(() => handlers.data(stream, session), cb, unexpected);
    },
    onClose(session) {
      disposers.get(session.id)?.();
      disposers.delete(session.id);
      const closing = handlers.close(session).catch(unexpected);
      pending.add(closing);
      void closing.finally(() => pending.delete(closing));
    },
  });

  const servers = [new SMTPServer(options(false)), new SMTPServer(options(true))];
  for (const server of servers) {
    server.on("error", (e) => o.log.debug({ err: e }, "smtp connection error"));
    // Every connection passes through here before it greets: the one place to harden it.
    const connections = (server as unknown as { connections: Set<RawConnection> }).connections;
    const add = connections.add.bind(connections);
    connections.add = (conn: RawConnection) => {
      disposers.set(
        conn.session.id,
        hardenConnection(conn, {
          limits: o.limits,
          onReset: (s: SMTPServerSession) => void handlers.reset(s).catch(unexpected),
          onBadRecipient: (s: SMTPServerSession, line: string) =>
            void handlers.badRecipient(s, line).catch(unexpected),
          onRecipientWithoutSender: (s: SMTPServerSession, line: string) =>
            handlers.recipientAfterRefusedSender(s, line),
          ...(o.refusals ? { onRefusal: o.refusals.refusal } : {}),
        }),
      );
      return add(conn);
    };
  }
  const [submission, smtps] = servers as [SMTPServer, SMTPServer];
  const listen = (s: SMTPServer, port: number) =>
    new Promise<number>((resolve, reject) => {
      const net = (s as unknown as { server: import("node:net").Server }).server;
      net.once("error", reject);
      s.listen(port, o.host, () => {
        net.off("error", reject);
        resolve((net.address() as AddressInfo).port);
      });
    });
  const ports = { submission: await listen(submission, o.submissionPort), smtps: 0 };
  try {
    ports.smtps = await listen(smtps, o.smtpsPort);
  } catch (e) {
    await new Promise<void>((r) => submission.close(() => r()));
    throw e;
  }
  o.log.info({ ...ports, host: o.host }, "SMTP submission listening");
  return {
    handlers,
    ports,
    async close() {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      // onClose handlers run just after the sockets close: let them release slots and quota.
      for (let i = 0; i < 200 && handlers.openSessions > 0; i++) await new Promise((r) => setTimeout(r, 10));
      await Promise.all([...pending]);
      await handlers.client.stop(); // hands this node's per-IP slots back
    },
  };
}
