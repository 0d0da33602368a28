/**
 * S3 and S4 per client IP across nodes (X2): two relay nodes in one process — two ActorSystems
 * with their own node ids on one embedded log, its consumer groups splitting the actor partitions
 * between them, so one of them runs the client actor of 127.0.0.1 and the other reaches it over
 * the bus — each with its own ingress. Failed AUTHs spread over both nodes' listeners block the
 * IP on both; the per-IP connection limit counts the connections of both (each node's block of
 * the IP's slots, ingress/client-gate.ts).
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createAccountBehavior } from "../../actors/account/behavior.ts";
import { AccountService } from "../../actors/account/service.ts";
import { createSuppressionBehavior } from "../../actors/account/suppression.ts";
import { createClientBehavior } from "../../actors/client/behavior.ts";
import { ManualClock } from "../../actors/clock.ts";
import { ActorSystem } from "../../actors/system.ts";
import { actorAccountPort } from "../../ingress/account-port.ts";
import { actorClientPort } from "../../ingress/client-port.ts";
import { type Ingress, startIngress } from "../../ingress/server.ts";
import { loadTls } from "../../ingress/tls.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { DirectoryView } from "../../shared/directory/view.ts";
import { createLogger } from "../../shared/log.ts";
import { HMAC_KEY, PARTITIONS, PLANS, tempDir } from "../account/harness.ts";
import { waitFor } from "../helpers/wait.ts";
import { DEFAULT_LIMITS, HOST, RawClient } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const IP = "127.0.0.1";
const BLOCKED = "421 4.7.0 Too many failed logins from your IP address, try again later";
const FULL = "421 4.7.0 Too many simultaneous connections from your IP address";
const plain = (u: string, p: string) => `AUTH PLAIN ${Buffer.from(`\0${u}\0${p}`).toString("base64")}`;

interface RelayNode {
  nodeId: string;
  system: ActorSystem;
  service: AccountService;
  ingress: Ingress;
}

/** Two nodes on one bus and one clock; an account with an SMTP user, created through the first. */
async function twoNodes(limits: Partial<typeof DEFAULT_LIMITS> = {}) {
  const dir = tempDir(cleanups);
  const bus = await LogBus.open({ dir: join(dir, "bus"), maintenanceIntervalMs: 0 });
  cleanups.push(() => bus.close());
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
  const store = await LocalContentStore.open(join(dir, "content"));
  const tls = await loadTls({ dataDir: dir, hostname: "relay.test" });
  const merged = { ...DEFAULT_LIMITS, ...limits };
  const nodes: RelayNode[] = [];
  for (const nodeId of ["node-a", "node-b"]) {
    const system = new ActorSystem({ bus, nodeId, clock, partitions: PARTITIONS, localAsk: false });
    system.register(createSuppressionBehavior());
    system.register(createAccountBehavior({ partitions: PARTITIONS, retentionDays: 30, reverifyHours: 24 }));
    system.register(createClientBehavior());
    await system.start();
    cleanups.push(() => system.stop());
    const directory = await DirectoryView.open({ bus, nodeId });
    cleanups.push(() => directory.close());
    const service = new AccountService({ actors: system, plans: PLANS, hmacKey: HMAC_KEY, directory, clock });
    const ingress = await startIngress({
      host: HOST,
      submissionPort: 0,
      smtpsPort: 0,
      tls,
      nodeId,
      hostname: "relay.test",
      limits: merged,
      directory,
      authenticate: (u, p) => service.authenticateSmtp(u, p),
      accounts: actorAccountPort(system, merged),
      clients: actorClientPort(system, merged),
      actors: system,
      bus,
      store,
      log: createLogger(process.env.PETREL_TEST_LOG ?? "silent"),
      now: () => clock.now(),
      closeTimeoutMs: 300,
    });
    cleanups.push(() => ingress.close());
    nodes.push({ nodeId, system, service, ingress });
  }
  const [a, b] = nodes as [RelayNode, RelayNode];
  // Both nodes hold client partitions, so one of them asks the other for 127.0.0.1.
  await waitFor(
    () =>
      a.system.ownedPartitions("client").length > 0 &&
      b.system.ownedPartitions("client").length > 0 &&
      a.system.ownedPartitions("client").length + b.system.ownedPartitions("client").length === PARTITIONS,
    { what: "client partitions split over both nodes" },
  );
  const acct = await a.service.createAccount({ name: "Shop", plan: "starter", accountId: "shop" });
  const user = await a.service.createSmtpUser(acct.accountId, { name: "app" });
  await waitFor(async () => (await b.service.authenticateSmtp(user.username, user.password)) !== null, {
    what: "the user known on node b",
  });
  return { a, b, clock, user };
}

async function tlsSession(node: RelayNode): Promise<RawClient> {
  const c = await RawClient.connect(node.ingress.ports.smtps, true);
  expect(await c.reply()).toMatch(/^220 /);
  await c.cmd("EHLO client.test");
  return c;
}

describe("per-IP limits across two nodes", () => {
  it("S3: failed AUTHs on both nodes add up; the block holds for new connections and the failing sessions' AUTHs on both, then ends", async () => {
    const { a, b, clock, user } = await twoNodes();
    const onA = await tlsSession(a);
    const onB = await tlsSession(b);
    for (let i = 0; i < 3; i++)
      expect(await onA.cmd(plain(user.username, `wrong-a${i}`))).toBe(
        "535 5.7.8 Authentication credentials invalid",
      );
    for (let i = 0; i < 2; i++)
      expect(await onB.cmd(plain(user.username, `wrong-b${i}`))).toBe(
        "535 5.7.8 Authentication credentials invalid",
      );
    // exactly one node's failure started the block (counted once in the cluster)
    const blocksOn = async (n: RelayNode) =>
      (await n.ingress.handlers.metrics.ipBlocks.get()).values[0]?.value ?? 0;
    await waitFor(async () => (await blocksOn(a)) + (await blocksOn(b)) === 1, { what: "the IP blocked" });
    // the failing sessions' next AUTH fails even with the right password, whichever node earned it
    expect(await onA.cmd(plain(user.username, user.password))).toBe(BLOCKED);
    expect(await onB.cmd(plain(user.username, user.password))).toBe(BLOCKED);
    // new connections, on either node and either port
    for (const [port, tls] of [
      [a.ingress.ports.submission, false],
      [b.ingress.ports.submission, false],
      [a.ingress.ports.smtps, true],
      [b.ingress.ports.smtps, true],
    ] as const) {
      const c = await RawClient.connect(port, tls);
      expect(await c.reply()).toBe(BLOCKED);
      c.close();
    }
    clock.advance(15 * 60_000 + 1);
    for (const node of [a, b]) {
      const c = await tlsSession(node);
      expect(await c.cmd(plain(user.username, user.password))).toMatch(/^235 /);
      c.close();
    }
    for (const c of [onA, onB]) c.close();
  });

  it("S3: a node hears of a block earned on the other at its next lease renewal; its clean sessions' AUTHs then fail", async () => {
    const { a, b, user } = await twoNodes();
    const clean = await tlsSession(a); // opened before any failure, never failed itself
    const onB = await tlsSession(b);
    for (let i = 0; i < 5; i++) expect(await onB.cmd(plain(user.username, `wrong${i}`))).toMatch(/^535 /);
    expect(await onB.cmd(plain(user.username, user.password))).toBe(BLOCKED);
    expect(b.ingress.handlers.client.blocked(IP)).toBe(true);
    expect(a.ingress.handlers.client.blocked(IP)).toBe(false); // node a has not been told yet
    await a.ingress.handlers.client.renew(); // what its timer does every third of the lease
    expect(a.ingress.handlers.client.blocked(IP)).toBe(true);
    expect(await clean.cmd(plain(user.username, user.password))).toBe(BLOCKED);
    for (const c of [clean, onB]) c.close();
  });

  it("S4: the per-IP connection limit counts the connections on both nodes; a close on one frees a slot for the other", async () => {
    const { a, b, clock } = await twoNodes({ sessionsPerIp: 4 });
    const open: RawClient[] = [];
    for (const node of [a, b, a, b]) {
      const c = await RawClient.connect(node.ingress.ports.submission);
      expect(await c.reply()).toMatch(/^220 /);
      open.push(c);
    }
    expect([a.ingress.handlers.ipSlots.count(IP), b.ingress.handlers.ipSlots.count(IP)]).toEqual([2, 2]);
    for (const node of [a, b]) {
      const extra = await RawClient.connect(node.ingress.ports.submission);
      expect(await extra.reply()).toBe(FULL);
      extra.close();
    }
    // the sessions already open keep working
    expect(await open[1]?.cmd("NOOP")).toMatch(/^250 /);
    open[0]?.close();
    await waitFor(() => a.ingress.handlers.ipSlots.count(IP) === 1, { what: "node a's slot released" });
    // node a hands its spare slot back once unused for smtpSessionCreditIdleMs (its sweeper's pass)
    clock.advance(DEFAULT_LIMITS.sessionCreditIdleMs);
    await a.ingress.handlers.client.sweep();
    const again = await RawClient.connect(b.ingress.ports.submission);
    expect(await again.reply()).toMatch(/^220 /);
    expect(b.ingress.handlers.ipSlots.count(IP)).toBe(3);
    const over = await RawClient.connect(a.ingress.ports.submission);
    expect(await over.reply()).toBe(FULL);
    for (const c of [...open, again, over]) c.close();
  });
});
