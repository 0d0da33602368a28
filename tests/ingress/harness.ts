/**
 * A real ingress for tests: the account harness (LogBus, ActorSystem on a ManualClock, account,
 * suppression and client IP actors, DirectoryView, AccountService), an account with an SMTP user and a trusted (verified)
 * sending domain, the local content store, and both listeners on 127.0.0.1 port 0 with a
 * generated self-signed certificate, and the domain actors that take the records. Collects the
 * status events ingress and the domain actors publish.
 */
import { mkdirSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { join } from "node:path";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import nodemailer from "nodemailer";
import { withAcceptedEvents } from "../../actors/accepted.ts";
import { createDomainBehavior } from "../../actors/domain/behavior.ts";
import { type AccountPort, actorAccountPort } from "../../ingress/account-port.ts";
import { actorClientPort } from "../../ingress/client-port.ts";
import type { IngressLimits } from "../../ingress/limits.ts";
import { type Ingress, startIngress } from "../../ingress/server.ts";
import { loadTls, type TlsMaterial } from "../../ingress/tls.ts";
import type { BusRecord, Subscription } from "../../shared/bus/types.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { createLogger } from "../../shared/log.ts";
import { STATUS_EVENTS_TOPIC, type StatusEvent } from "../../shared/model/event.ts";
import { domainFixture } from "../account/fixtures.ts";
import { type Node, PARTITIONS, startNode, tempDir } from "../account/harness.ts";
import { waitFor } from "../helpers/wait.ts";

export const HOST = "127.0.0.1";
export const SENDER_DOMAIN = "shop.example";
export const SANDBOX = "sandbox.petrel.test";

export const DEFAULT_LIMITS: IngressLimits = {
  maxRecipients: 50,
  maxMessageBytes: 20 * 1024 * 1024,
  maxHeaderBytes: 256 * 1024,
  sessionsPerUser: 10,
  sessionsPerAccount: 20,
  sessionsPerIp: 100,
  sessionLeaseMs: 60_000,
  sessionCreditIdleMs: 2_000,
  authMaxFailures: 5,
  authWindowMs: 15 * 60_000,
  authBlockMs: 15 * 60_000,
  idleTimeoutMs: 30_000,
  maxSessionMs: 120_000,
  maxBadCommands: 10,
  minDataRate: 1024,
  maxCommandLength: 1024,
  greetingDelayMs: 0,
  sandboxDomain: SANDBOX,
  quotaCreditBlock: 100,
};

export interface Relay {
  node: Node;
  ingress: Ingress;
  store: LocalContentStore;
  accountId: string;
  user: { username: string; password: string };
  events: StatusEvent[];
  /** The TLS pair the listeners serve (generated into the data dir unless given). */
  tls: TlsMaterial;
  /** S8: this node's quota credit (hand it back with `flush()` before reading exact counters). */
  accounts: AccountPort;
  /** Records handed to domain actors (read from the domain inbox topic). */
  records: () => Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startRelay(
  cleanups: (() => Promise<void>)[],
  o: { limits?: Partial<IngressLimits>; plan?: string; suppressed?: string[]; tls?: TlsMaterial } = {},
): Promise<Relay> {
  const dir = tempDir(cleanups);
  const busDir = join(dir, "bus");
  mkdirSync(busDir);
  // The domain actors take the records and derive each one's Accepted event (actors/accepted.ts).
  const node = await startNode(busDir, {
    behaviors: [withAcceptedEvents(createDomainBehavior({ partitions: PARTITIONS }))],
  });
  const acct = await node.service.createAccount({
    name: "Shop",
    plan: o.plan ?? "starter",
    accountId: "shop",
  });
  await node.service.addDomain(acct.accountId, domainFixture(SENDER_DOMAIN));
  await node.service.trustDomain(acct.accountId, SENDER_DOMAIN, "test");
  const user = await node.service.createSmtpUser(acct.accountId, { name: "app" });
  const store = await LocalContentStore.open(join(dir, "content"));
  const tls = o.tls ?? (await loadTls({ dataDir: dir, hostname: "relay.test" }));
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  await node.bus.ensureTopics([{ name: STATUS_EVENTS_TOPIC, partitions: 4 }]);
  const events: StatusEvent[] = [];
  const sub: Subscription = await node.bus.subscribe({
    group: "test-events",
    topics: [STATUS_EVENTS_TOPIC],
    fromBeginning: true,
    handler: async (r: BusRecord) => {
      events.push(JSON.parse(new TextDecoder().decode(r.value)));
    },
  });
  const suppressed = new Set(o.suppressed ?? []);
  const accounts = actorAccountPort(node.system, {
    ...limits,
    now: () => node.clock.now(),
    mayUse: (accountId) => node.directory.account(accountId)?.sendingAllowed ?? false,
  });
  const ingress = await startIngress({
    host: HOST,
    submissionPort: 0,
    smtpsPort: 0,
    tls,
    nodeId: "local",
    hostname: "relay.test",
    limits,
    directory: node.directory,
    authenticate: (u, p) => node.service.authenticateSmtp(u, p),
    accounts,
    clients: actorClientPort(node.system, limits),
    actors: node.system,
    bus: node.bus,
    store,
    log: createLogger(process.env.PETREL_TEST_LOG ?? "silent"),
    now: () => node.clock.now(),
    suppressions: () => ({ isSuppressed: async (_a, address) => suppressed.has(address) }),
    closeTimeoutMs: 300,
  });
  const relay: Relay = {
    node,
    ingress,
    store,
    accountId: acct.accountId,
    accounts,
    user: { username: user.username, password: user.password },
    events,
    tls,
    records: async () => {
      const out: Record<string, unknown>[] = [];
      const parts = await node.bus.partitionCount("actor.domain.inbox").catch(() => 0);
      if (parts > 0)
        await node.bus.replay("actor.domain.inbox", [...Array(parts).keys()], (r) => {
          out.push(
            (JSON.parse(new TextDecoder().decode(r.value)) as { m: { record: Record<string, unknown> } }).m
              .record,
          );
        });
      return out;
    },
    async stop() {
      await ingress.close();
      await accounts.close();
      await sub.close();
      await node.stop();
    },
  };
  cleanups.push(() => relay.stop());
  return relay;
}

/** A nodemailer transport on the submission port (STARTTLS) or the SMTPS port. */
export function transport(
  relay: Relay,
  o: { smtps?: boolean; user?: string; pass?: string; pool?: boolean } = {},
) {
  return nodemailer.createTransport({
    host: HOST,
    port: o.smtps ? relay.ingress.ports.smtps : relay.ingress.ports.submission,
    secure: !!o.smtps,
    requireTLS: !o.smtps,
    auth: { user: o.user ?? relay.user.username, pass: o.pass ?? relay.user.password },
    tls: { rejectUnauthorized: false },
    ...(o.pool ? { pool: true, maxConnections: 1 } : {}),
  });
}

export function message(o: {
  to: string | string[];
  from?: string;
  subject?: string;
  text?: string;
  attachments?: { filename: string; content: string; contentType?: string }[];
}) {
  return {
    from: o.from ?? `app@${SENDER_DOMAIN}`,
    to: o.to,
    subject: o.subject ?? "Hello",
    text: o.text ?? "Hi there",
    ...(o.attachments ? { attachments: o.attachments } : {}),
  };
}

/** Events for one message id, once `n` arrived. */
export function eventsFor(relay: Relay, pred: (e: StatusEvent) => boolean, n = 1): Promise<StatusEvent[]> {
  return waitFor(
    () => {
      const l = relay.events.filter(pred);
      return l.length >= n ? l : undefined;
    },
    { what: `${n} status event(s)` },
  );
}

/** A raw line-oriented SMTP client for crafted violations (plain TCP, upgradeable to TLS). */
export class RawClient {
  private buf = "";
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(public socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  private attach(s: Socket | TLSSocket): void {
    s.on("data", (d: Buffer) => {
      this.buf += d.toString("latin1");
      for (const w of this.waiters.splice(0)) w();
    });
    s.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    s.on("error", () => undefined);
  }

  static connect(port: number, tls = false): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = tls
        ? tlsConnect({ host: HOST, port, rejectUnauthorized: false }, () => resolve(new RawClient(s)))
        : netConnect({ host: HOST, port }, () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  /** Reads one complete reply (all its lines); resolves "" when the socket closed first. */
  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        return m[0].trimEnd();
      }
      if (this.closed) return "";
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply; buffer: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS then the TLS handshake on the same socket. */
  async starttls(): Promise<string> {
    const r = await this.cmd("STARTTLS");
    if (!r.startsWith("220")) return r;
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    this.buf = "";
    await new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ socket: plain as Socket, rejectUnauthorized: false }, () => resolve());
      s.once("error", reject);
      this.socket = s;
      this.attach(s);
    });
    return r;
  }

  /** EHLO, STARTTLS, EHLO, AUTH PLAIN: an authenticated session on the submission port. */
  static async authenticated(
    relay: Relay,
    user = relay.user.username,
    pass = relay.user.password,
  ): Promise<RawClient> {
    const c = await RawClient.connect(relay.ingress.ports.submission);
    await c.reply();
    await c.cmd("EHLO client.test");
    await c.starttls();
    await c.cmd("EHLO client.test");
    const r = await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString("base64")}`);
    if (!r.startsWith("235")) throw new Error(`auth failed: ${r}`);
    return c;
  }

  close(): void {
    this.socket.destroy();
  }
}
