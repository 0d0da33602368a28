/**
 * A whole relay for the operations tests and benches (X4, issue 17): `startRelay` in this process
 * (embedded log, chDB), resolving through a real Knot DNS server, delivering to a real smtp-server
 * peer on 127.0.0.1 (its port is the relay's SMTP out port). Zones: `good.test` and `other.test`
 * (MX 127.0.0.1, the peer), `down.test` (MX 127.0.0.3: nothing listens there, connections are
 * refused), `slow.test` (MX 127.0.0.4: a peer that greets after `slowGreetMs`). An account with a
 * verified sending domain `shop.example` (real DKIM keys) and `broken.example` (a key that does
 * not sign). `/metrics` is scraped through the relay's own HTTP app (relay-app.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { SMTPServer } from "smtp-server";
import type { DomainState } from "../../actors/domain/protocol.ts";
import { DOMAIN_ACTOR_TYPE } from "../../actors/keys.ts";
import { type Relay, type RelayOptions, startRelay } from "../../relay.ts";
import { relayApp } from "../../relay-app.ts";
import { loadConfig } from "../../shared/config/load.ts";
import type { Config } from "../../shared/config/schema.ts";
import { createLogger } from "../../shared/log.ts";
import { domainFixture } from "../account/fixtures.ts";
import { dkimKey } from "../delivery/harness.ts";
import { type DnsServer, startDnsServer, testZone } from "../dns/server.ts";

export interface Peer {
  port: number;
  /** Messages the peer accepted, by recipient domain. */
  received: Map<string, number>;
  close(): Promise<void>;
}

/** A real SMTP server on `host:port` that accepts everything; `greetMs` delays its greeting and each end-of-DATA reply. */
export async function startPeer(host: string, port = 0, greetMs = 0): Promise<Peer> {
  const received = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH"],
    logger: false,
    size: 50 * 1024 * 1024,
    onConnect(_s, cb) {
      if (greetMs > 0) setTimeout(() => cb(), greetMs).unref();
      else cb();
    },
    onData(stream, session, cb) {
      stream.resume();
      stream.on("end", () => {
        for (const r of session.envelope.rcptTo) {
          const d = r.address.split("@")[1] ?? "";
          received.set(d, (received.get(d) ?? 0) + 1);
        }
        if (greetMs > 0) setTimeout(() => cb(), greetMs).unref();
        else cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.server.address() as { port: number }).port,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface Stack {
  relay: Relay;
  config: Config;
  dir: string;
  dns: DnsServer;
  peer: Peer;
  slowPeer?: Peer;
  user: { username: string; password: string };
  accountId: string;
  /** Submits one message (STARTTLS + AUTH) and returns the server's final reply. */
  send(to: string | string[], opts?: { from?: string; subject?: string }): Promise<string>;
  /**
   * Queues `count` recipients `<prefix><i>@<domain>`, `perMessage` to a message, over a pool of
   * `connections` SMTP sessions; resolves once every message was answered 250.
   */
  queue(
    domain: string,
    count: number,
    o?: { prefix?: string; perMessage?: number; connections?: number },
  ): Promise<void>;
  /** The live domain actor's state on this node (read-only), undefined if not live. */
  domainState(domain: string): DomainState | undefined;
  /** GET /metrics through the relay's HTTP app, parsed. */
  scrape(): Promise<Scrape>;
  /** Stops the relay (keeps the data dir), starts it again with the same config. */
  restart(): Promise<number>;
  stop(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  relayOptions?: RelayOptions;
  /** Start a second peer on 127.0.0.4 (slow.test) that greets, and answers each message, after this many ms. */
  slowGreetMs?: number;
  /** The account's plan (default starter: 20,000 recipients a month). */
  plan?: string;
}

export const ZONES = [
  testZone("good.test", ["@ IN MX 10 mx", "mx IN A 127.0.0.1"]),
  testZone("other.test", ["@ IN MX 10 mx", "mx IN A 127.0.0.1"]),
  // Nothing listens on 127.0.0.3: every connection is refused.
  testZone("down.test", ["@ IN MX 10 mx", "mx IN A 127.0.0.3"]),
  testZone("slow.test", ["@ IN MX 10 mx", "mx IN A 127.0.0.4"]),
];

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-ops-"));
  const dns = await startDnsServer({ zones: ZONES });
  const peer = await startPeer("127.0.0.1");
  const slowPeer =
    o.slowGreetMs !== undefined ? await startPeer("127.0.0.4", peer.port, o.slowGreetMs) : undefined;
  const config = loadConfig({
    PETREL_DATA_DIR: dir,
    PETREL_HOST: "127.0.0.1",
    PETREL_HOSTNAME: "relay.petrel.test",
    PETREL_SUBMISSION_PORT: "0",
    PETREL_SMTPS_PORT: "0",
    PETREL_BOUNCE_PORT: "0",
    PETREL_HTTP_PORT: "0",
    PETREL_PARTITIONS: "2",
    PETREL_LOG_LEVEL: "error",
    PETREL_DNS_SERVERS: dns.address,
    PETREL_SMTP_OUT_PORT: String(peer.port),
    PETREL_DELIVERY_BACKOFF_BASE_SECONDS: "1",
    PETREL_DKIM_THREADS: "0",
    ...o.env,
  });
  const log = createLogger("error");
  let relay = await startRelay(config, log, o.relayOptions);
  const acct = await relay.accounts.createAccount({ name: "Ops", plan: o.plan ?? "starter" });
  const shop = domainFixture("shop.example");
  await relay.accounts.addDomain(acct.accountId, { ...shop, dkim: [dkimKey("pt1"), dkimKey("pt2")] });
  await relay.accounts.trustDomain(acct.accountId, "shop.example", "test");
  // domainFixture's keys are not keys: every signature with them fails (D3: deferred, never unsigned).
  await relay.accounts.addDomain(acct.accountId, domainFixture("broken.example"));
  await relay.accounts.trustDomain(acct.accountId, "broken.example", "test");
  const user = await relay.accounts.createSmtpUser(acct.accountId, { name: "app" });
  let app = relayApp(relay, config, log);

  const stack: Stack = {
    get relay() {
      return relay;
    },
    config,
    dir,
    dns,
    peer,
    ...(slowPeer ? { slowPeer } : {}),
    user,
    accountId: acct.accountId,
    async send(to, opts = {}) {
      const t = nodemailer.createTransport({
        host: "127.0.0.1",
        port: relay.ingress.ports.submission,
        requireTLS: true,
        auth: { user: user.username, pass: user.password },
        tls: { rejectUnauthorized: false },
      });
      try {
        const info = await t.sendMail({
          from: opts.from ?? "app@shop.example",
          to,
          subject: opts.subject ?? "ops",
          text: "hello from the operations tests",
        });
        return info.response;
      } finally {
        t.close();
      }
    },
    async queue(domain, count, q = {}) {
      const per = q.perMessage ?? 50;
      const t = nodemailer.createTransport({
        pool: true,
        maxConnections: q.connections ?? 4,
        maxMessages: 1_000,
        host: "127.0.0.1",
        port: relay.ingress.ports.submission,
        requireTLS: true,
        auth: { user: user.username, pass: user.password },
        tls: { rejectUnauthorized: false },
      });
      try {
        const sends: Promise<unknown>[] = [];
        for (let i = 0; i < count; i += per) {
          const to = Array.from(
            { length: Math.min(per, count - i) },
            (_, k) => `${q.prefix ?? "r"}${i + k}@${domain}`,
          );
          sends.push(t.sendMail({ from: "app@shop.example", to, subject: `backlog ${i}`, text: "queued" }));
        }
        await Promise.all(sends);
      } finally {
        t.close();
      }
    },
    domainState(domain) {
      for (const st of relay.actors.liveStates(DOMAIN_ACTOR_TYPE))
        if ((st as DomainState).domain === domain) return st as DomainState;
      return undefined;
    },
    async scrape() {
      const res = await app.request("/metrics");
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
      return parseExposition(await res.text());
    },
    async restart() {
      await relay.stop();
      const t0 = performance.now();
      relay = await startRelay(config, log, o.relayOptions);
      app = relayApp(relay, config, log);
      return performance.now() - t0;
    },
    async stop() {
      await relay.stop().catch(() => {});
      await slowPeer?.close();
      await peer.close();
      await dns.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** A scrape: `value(name, labels)` sums the samples of `name` whose labels include `labels`. */
export interface Scrape {
  names: Set<string>;
  value(name: string, labels?: Record<string, string>): number;
}

/** Parses Prometheus text exposition (what prom-client writes): `name{a="b",...} value`. */
export function parseExposition(text: string): Scrape {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) names.add(line.split(" ")[2] as string);
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = l[2] as string;
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return {
    names,
    value: (name, labels = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0),
  };
}
