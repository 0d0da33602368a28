/**
 * The relay on several nodes (X2, issue 13), end to end on real components: one Apache Kafka broker,
 * SeaweedFS as the S3 content store, the ClickHouse HTTP endpoint (a real server when
 * PETREL_TEST_CLICKHOUSE_URL is set, else the chDB stand-in), Knot DNS and Postfix as the recipient
 * MX, and relay nodes as separate `main.ts` processes sharing the cluster settings
 * (tests/cluster/services.ts). Everything is driven through the public surfaces (SMTP, /v1 HTTP).
 *
 * - Messages submitted on node A for recipients of three domains (their domain actors and their
 *   attempts land on either node) are all Delivered, DKIM-signed (dkimpy verifies, the key found
 *   through DNS) with a VERP Return-Path on the sending domain's return-path host.
 * - A delayed bounce sent to node B's bounce port for one of them turns it into a Hard bounce.
 * - Activity and Statistics read through node A's API, node B's and the edge entry agree.
 * - An API key created on A works on B; the per-user session limit holds across the nodes.
 * - Kill under load: a third node is SIGKILLed while messages go to all three; every message that
 *   got `250` anywhere is delivered; duplicates and the time until every domain delivers again are
 *   reported (printed, and in BENCHMARKS.md).
 */
import nodemailer from "nodemailer";
import SMTPConnection from "nodemailer/lib/smtp-connection";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeFromEnv } from "../../edge-api/edge.ts";
import { dkimVerify, dsnFor } from "../delivery/dkim-verify.ts";
import { type Postfix, requirePostfix, startPostfix } from "../delivery/postfix.ts";
import { type DnsServer, requireDnsServer, startDnsServer, testZone, type ZoneText } from "../dns/server.ts";
import { kafkaBrokers } from "../helpers/kafka.ts";
import { requireSeaweed } from "../helpers/seaweedfs.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import { type ClusterNode, startNode } from "./node.ts";
import { type ClusterServices, startClusterServices } from "./services.ts";

const SUITE = "multi-node relay (tests/cluster/cluster.test.ts)";
const brokers = kafkaBrokers(SUITE);
const available =
  brokers !== undefined && requireDnsServer(SUITE) && requirePostfix(SUITE) && requireSeaweed(SUITE);

const PROVIDER = "petrel.test";
const SENDER = "shop.test";
const DOMAINS = ["rcpt1.test", "rcpt2.test", "rcpt3.test"];
const USERS = DOMAINS.flatMap((d) => Array.from({ length: 40 }, (_, i) => `u${i}@${d}`));

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field
type Json = any;

describe.skipIf(!available)("Petrel on several nodes (X2)", () => {
  let services: ClusterServices;
  let dns: DnsServer;
  let postfix: Postfix;
  let a: ClusterNode;
  let b: ClusterNode;
  let accountId = "";
  let apiKey = "";
  let smtp = { username: "", password: "" };
  let shared: Record<string, string> = {};

  const http = async (node: ClusterNode, method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${node.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Json };
  };
  const operator = (node: ClusterNode, method: string, path: string, body?: unknown) =>
    http(node, method, `/v1/admin${path}`, services.adminToken, body);

  const transport = (node: ClusterNode, o: { pool?: boolean } = {}) =>
    nodemailer.createTransport({
      host: "127.0.0.1",
      port: node.smtp,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: smtp.username, pass: smtp.password },
      ...(o.pool ? { pool: true, maxConnections: 1 } : {}),
    });
  const customerZone = (records: { name: string; value: string }[]): ZoneText =>
    testZone(
      SENDER,
      records.map((r) => `${r.name}. IN CNAME ${r.value}.`),
    );
  const mailWith = async (rcpt: string, subject: string): Promise<string[]> =>
    (await postfix.mailbox(rcpt)).filter((m) => m.includes(`Subject: ${subject}`));

  beforeAll(async () => {
    dns = await startDnsServer({
      zones: DOMAINS.map((d) => testZone(d, ["@ IN MX 10 mx", "mx IN A 127.0.0.1"])),
    });
    postfix = await startPostfix({ domains: DOMAINS, users: USERS });
    services = await startClusterServices({ kafkaBrokers: brokers!.join(","), partitions: 4 });
    shared = {
      ...services.settings,
      PETREL_DNS_SERVERS: dns.address,
      PETREL_SMTP_OUT_PORT: String(postfix.port),
      PETREL_PROVIDER_DOMAIN: PROVIDER,
      PETREL_HOSTNAME: "relay.petrel.test",
      PETREL_SMTP_SESSIONS_PER_USER: "2",
      PETREL_LOG_LEVEL: "warn",
      PETREL_SHUTDOWN_GRACE_MS: "5000",
    };
    [a, b] = await Promise.all([startNode("a", shared), startNode("b", shared)]);
    const acct = await operator(a, "POST", "/accounts", { name: "Shop", plan: "business" });
    expect(acct.status).toBe(201);
    accountId = acct.body.accountId;
    const domain = await operator(a, "POST", `/accounts/${accountId}/domains`, { domain: SENDER });
    expect(domain.status).toBe(201);
    const zone = await fetch(`${a.api}/v1/admin/zone`, {
      headers: { authorization: `Bearer ${services.adminToken}` },
    }).then((r) => r.text());
    await dns.reload([
      ...DOMAINS.map((d) => testZone(d, ["@ IN MX 10 mx", "mx IN A 127.0.0.1"])),
      { origin: PROVIDER, text: zone },
      customerZone(domain.body.records),
    ]);
    // Verified through DNS by node B (the CNAMEs, the provider's DKIM keys and return-path MX).
    const verified = await operator(b, "POST", `/accounts/${accountId}/domains/${SENDER}/verify`, {});
    expect(verified.body.status).toBe("verified");
    const user = await operator(a, "POST", `/accounts/${accountId}/smtp-users`, { name: "app" });
    smtp = { username: user.body.username, password: user.body.password };
    const key = await operator(a, "POST", `/accounts/${accountId}/api-keys`, {
      scopes: ["activity:read", "stats:read"],
    });
    apiKey = key.body.key;
  }, 420_000);

  afterAll(async () => {
    await Promise.all([a?.stop(10_000), b?.stop(10_000)]);
    await services?.stop();
    await postfix?.stop();
    await dns?.stop();
  }, 120_000);

  it("an API key created on node A works on node B", async () => {
    const r = await waitFor(
      async () => {
        const x = await http(b, "GET", "/v1/activity?limit=1", apiKey);
        return x.status === 200 ? x : undefined;
      },
      { what: "node B to accept node A's API key", timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(r.body).toHaveProperty("rows");
  });

  it("messages submitted on A for three domains are all Delivered, DKIM-signed, with VERP; a delayed bounce sent to B turns one into a bounce", async () => {
    const t = transport(a, { pool: true });
    const sent: { rcpt: string; subject: string }[] = [];
    for (const [i, d] of DOMAINS.entries()) {
      for (let k = 0; k < 2; k++) {
        const rcpt = `u${k}@${d}`;
        const subject = `cluster ${i}.${k}`;
        const info = await t.sendMail({
          from: `App <app@${SENDER}>`,
          to: rcpt,
          subject,
          text: `Hello ${rcpt}`,
        });
        expect(info.response).toMatch(/^250 /);
        sent.push({ rcpt, subject });
      }
    }
    t.close();
    const mails: string[] = [];
    for (const s of sent) {
      const m = await waitFor(
        async () => {
          const box = await mailWith(s.rcpt, s.subject);
          return box.length > 0 ? box : undefined;
        },
        { what: `${s.subject} in ${s.rcpt}'s mailbox`, timeoutMs: 90_000, intervalMs: 250 },
      );
      expect(m).toHaveLength(1);
      mails.push(m[0]!);
    }
    for (const m of mails) {
      const v = await dkimVerify(dns, m);
      expect(v.out).toContain("signature ok");
      expect(m).toMatch(/^Return-Path: <[^@>]+@[^>]+>/m);
    }
    // Every recipient Delivered, read through node B (A1: one row per recipient).
    const rows = await waitFor(
      async () => {
        const r = await http(b, "GET", "/v1/activity?limit=100", apiKey);
        const list = (r.body?.rows ?? []) as { recipient: string; status: string }[];
        return list.filter((x) => x.status === "Delivered").length >= sent.length ? list : undefined;
      },
      { what: "six Delivered rows through node B", timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const s of sent)
      expect(rows.some((x) => x.recipient === s.rcpt && x.status === "Delivered")).toBe(true);

    // D7: a non-delivery report for the first message, sent to node B's bounce port.
    const verp = /^Return-Path: <([^>]+)>/m.exec(mails[0]!)![1]!;
    const bounce = nodemailer.createTransport({
      host: "127.0.0.1",
      port: b.bounce,
      secure: false,
      ignoreTLS: true,
    });
    await bounce.sendMail({ envelope: { from: "", to: verp }, raw: dsnFor(verp, sent[0]!.rcpt) });
    bounce.close();
    await waitFor(
      async () => {
        const r = await http(
          a,
          "GET",
          `/v1/activity?recipient=${encodeURIComponent(sent[0]!.rcpt)}&limit=10`,
          apiKey,
        );
        const list = (r.body?.rows ?? []) as { status: string }[];
        return list.some((x) => x.status === "HardBounce") ? list : undefined;
      },
      { what: "the delayed bounce through node A's Activity", timeoutMs: 60_000, intervalMs: 500 },
    );
  }, 240_000);

  it("Activity and Statistics through node A, node B and the edge entry agree", async () => {
    const edge = edgeFromEnv({
      PETREL_CLICKHOUSE_URL: shared.PETREL_CLICKHOUSE_URL,
      PETREL_CLICKHOUSE_USER: shared.PETREL_CLICKHOUSE_USER,
      PETREL_CLICKHOUSE_PASSWORD: shared.PETREL_CLICKHOUSE_PASSWORD,
      PETREL_EDGE_HMAC_KEY: shared.PETREL_HMAC_KEY,
      PETREL_EDGE_CACHE_MS: "0",
    });
    const viaEdge = async (path: string) => {
      const r = await edge.fetch(
        new Request(`http://edge${path}`, { headers: { authorization: `Bearer ${apiKey}` } }),
      );
      return { status: r.status, body: (await r.json()) as Json };
    };
    for (const path of ["/v1/activity?limit=100", "/v1/stats?period=today"]) {
      const [fromA, fromB, fromEdge] = [
        await http(a, "GET", path, apiKey),
        await http(b, "GET", path, apiKey),
        await viaEdge(path),
      ];
      expect(fromA.status, JSON.stringify(fromA.body)).toBe(200);
      expect(fromB.body).toEqual(fromA.body);
      expect(fromEdge.status, JSON.stringify(fromEdge.body)).toBe(200);
      expect(fromEdge.body).toEqual(fromA.body);
    }
  });

  it("a brute-force block earned on node A is enforced by node B (S3, from 127.0.0.7)", async () => {
    const wrong = (node: ClusterNode) =>
      nodemailer.createTransport({
        host: "127.0.0.1",
        port: node.smtp,
        requireTLS: true,
        localAddress: "127.0.0.7",
        tls: { rejectUnauthorized: false },
        auth: { user: smtp.username, pass: "not-the-password" },
      });
    for (let i = 0; i < 5; i++) {
      const t = wrong(a);
      await expect(t.verify()).rejects.toMatchObject({ responseCode: expect.any(Number) });
      t.close();
    }
    const t = wrong(b);
    const e = await waitFor(
      async () => {
        const r = await t.verify().then(
          () => undefined,
          (err: { responseCode?: number; response?: string }) => err,
        );
        return r?.responseCode === 421 ? r : undefined;
      },
      { what: "node B to refuse 127.0.0.7 with 421", timeoutMs: 30_000, intervalMs: 500 },
    );
    t.close();
    expect(e.response).toMatch(/^421 4\.7\.0/);
  });

  it("the per-user session limit (2) holds across nodes: a third session anywhere gets 454", async () => {
    const open = async (node: ClusterNode) => {
      const c = new SMTPConnection({
        host: "127.0.0.1",
        port: node.smtp,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
      });
      await new Promise<void>((resolve, reject) => c.connect((e?: Error) => (e ? reject(e) : resolve())));
      c.on("error", () => {});
      return c;
    };
    const login = (c: SMTPConnection) =>
      new Promise<void>((resolve, reject) =>
        c.login({ user: smtp.username, pass: smtp.password }, (e?: Error | null) =>
          e ? reject(e) : resolve(),
        ),
      );
    const held = [await open(a), await open(b)];
    try {
      for (const c of held) await login(c);
      const third = await open(a);
      await expect(login(third)).rejects.toMatchObject({ responseCode: 454 });
      third.close();
    } finally {
      for (const c of held) c.quit();
    }
  });

  it("kill under load: a node SIGKILLed while all nodes take mail; every 250 is delivered", async () => {
    const c = await startNode("c", shared);
    const nodes = [a, b, c];
    const accepted: { rcpt: string; subject: string }[] = [];
    const send = async (node: ClusterNode, n: number, tag: string) => {
      const t = transport(node, { pool: true });
      for (let i = 0; i < n; i++) {
        const rcpt = `u${(i % 30) + 5}@${DOMAINS[i % DOMAINS.length]}`;
        const subject = `load ${tag}.${i}`;
        try {
          const info = await t.sendMail({ from: `app@${SENDER}`, to: rcpt, subject, text: subject });
          if (/^250 /.test(info.response)) accepted.push({ rcpt, subject });
        } catch {
          // refused or cut off by the kill: not acknowledged, the client would retry
        }
      }
      t.close();
    };
    const load = Promise.all(nodes.map((node) => send(node, 25, node.id)));
    await sleep(3000);
    const killedAt = Date.now();
    await c.kill();
    await load;
    // Takeover: probe messages to every domain through A until each is delivered again.
    const probes = DOMAINS.map((d, i) => ({ rcpt: `u39@${d}`, subject: `probe ${i}` }));
    // While the dead node's partitions move, their actors cannot answer: RCPT gets 451 4.3.0 and a
    // client retries, as this one does (bounded).
    const t = transport(a);
    for (const p of probes)
      await waitFor(
        () =>
          t.sendMail({ from: `app@${SENDER}`, to: p.rcpt, subject: p.subject, text: "p" }).then(
            (info) => /^250 /.test(info.response),
            () => false,
          ),
        { what: `${p.subject} accepted after the kill`, timeoutMs: 120_000, intervalMs: 500 },
      );
    t.close();
    for (const p of probes)
      await waitFor(async () => (await mailWith(p.rcpt, p.subject)).length > 0, {
        what: `${p.subject} delivered after the kill`,
        timeoutMs: 180_000,
        intervalMs: 250,
      });
    const takeoverMs = Date.now() - killedAt;
    let duplicates = 0;
    for (const m of accepted) {
      const got = await waitFor(
        async () => {
          const box = await mailWith(m.rcpt, m.subject);
          return box.length > 0 ? box : undefined;
        },
        { what: `${m.subject} (acknowledged) delivered`, timeoutMs: 180_000, intervalMs: 500 },
      );
      duplicates += got.length - 1;
    }
    console.log(
      `[cluster] kill under load: ${accepted.length} acknowledged, all delivered, ${duplicates} duplicates, every domain delivering again ${takeoverMs} ms after SIGKILL`,
    );
    expect(accepted.length).toBeGreaterThan(30);
  }, 420_000);
});
