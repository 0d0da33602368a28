/**
 * The delivery side for tests, all real: the LogBus in a temp dir, the ActorSystem on a
 * ManualClock with the domain and suppression behaviors, the local content store, delivery
 * workers resolving through the test DNS server, the bounce listener, and a collector of the
 * status events. `restart()` stops everything but the data dir and starts it again.
 */
import { generateKeyPairSync } from "node:crypto";
import { Readable } from "node:stream";
import { createSuppressionBehavior, SuppressionService } from "../../actors/account/suppression.ts";
import { ManualClock } from "../../actors/clock.ts";
import { DkimPool } from "../../actors/delivery/dkim.ts";
import { DeliveryWorkers } from "../../actors/delivery/worker.ts";
import { createDomainBehavior, type DomainOptions } from "../../actors/domain/behavior.ts";
import { domainKey, recipientId } from "../../actors/keys.ts";
import { ActorSystem } from "../../actors/system.ts";
import { BounceListener } from "../../ingress/bounce-listener.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import type { Subscription } from "../../shared/bus/types.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { createResolver } from "../../shared/domains/verify.ts";
import type { SendingDomain } from "../../shared/model/account/protocol.ts";
import { STATUS_EVENTS_TOPIC, type StatusEvent } from "../../shared/model/event.ts";
import type { RecipientRecord } from "../../shared/model/recipient.ts";
import { waitFor } from "../helpers/wait.ts";

export const PARTITIONS = 4;
export const VERP_KEY = "test-verp-key-0123456789";
export const SENDER_DOMAIN = "sender.test";
export const RETURN_PATH_HOST = "bounces.sender.test";

export function dkimKey(selector: string) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    selector,
    algorithm: "rsa-sha256" as const,
    publicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

export function sendingDomain(): SendingDomain {
  return {
    id: "d1",
    domain: SENDER_DOMAIN,
    addedAt: 0,
    status: "verified",
    trusted: true,
    records: [],
    dkim: [dkimKey("pt1"), dkimKey("pt2")],
    activeSelector: "pt2",
    returnPathHost: RETURN_PATH_HOST,
  };
}

/** The TXT record of a DKIM key as zone-file text (split in 255-octet strings). */
export function dkimTxt(publicKey: string): string {
  const v = `v=DKIM1; k=rsa; p=${publicKey}`;
  const parts: string[] = [];
  for (let i = 0; i < v.length; i += 200) parts.push(`"${v.slice(i, i + 200)}"`);
  return `( ${parts.join(" ")} )`;
}

export interface DeliveryNode {
  clock: ManualClock;
  system: ActorSystem;
  suppression: SuppressionService;
  content: LocalContentStore;
  events: StatusEvent[];
  bouncePort: number;
  submit(to: string, seq?: number, opts?: { isTest?: boolean }): Promise<RecipientRecord>;
  /** One message to several recipients: its records (seq 0…n-1, `recipients` n) in one publish, as ingress does. */
  submitMessage(to: string[]): Promise<RecipientRecord[]>;
  eventsFor(rid: string): StatusEvent[];
  /** The workers' message bytes held by attempts in flight: now and the most ever. */
  heldBytes: { now: number; peak: number };
  waitStatus(rid: string, status: StatusEvent["status"], n?: number): Promise<StatusEvent>;
  stop(): Promise<void>;
}

export interface NodeOptions {
  dir: string;
  dnsServer: string;
  smtpPort: number;
  domain: SendingDomain;
  clock?: ManualClock;
  bouncePort?: number;
  domainOptions?: Partial<DomainOptions>;
  idleMs?: number;
  /** Called as each status event arrives (benchmarks time them). */
  onEvent?(e: StatusEvent): void;
  /** Bytes of each submitted message's body (padded with text lines); default a short line. */
  bodyBytes?: number;
  /** The workers' bound on message bytes held by attempts in flight (PETREL_DELIVERY_MAX_HELD_BYTES). */
  maxHeldBytes?: number;
  /** Sign with DKIM (default true; false only for the DKIM-off benchmark). */
  dkim?: boolean;
  /** The sending-domain lookup (default: `domain` by its name). */
  sendingDomain?(accountId: string, domain: string): Promise<SendingDomain | undefined>;
}

let messageSeq = 0;

/** Text lines of about `bytes` bytes in all (76 characters and CRLF each). */
function padding(bytes: number): string[] {
  return Array.from({ length: Math.ceil(bytes / 78) }, (_, i) => `${i}`.padEnd(76, "x"));
}

export async function startDelivery(o: NodeOptions): Promise<DeliveryNode> {
  const clock = o.clock ?? new ManualClock(Date.UTC(2026, 0, 15, 12));
  const bus = await LogBus.open({ dir: `${o.dir}/bus`, maintenanceIntervalMs: 0 });
  const system = new ActorSystem({ bus, nodeId: "local", clock, partitions: PARTITIONS, localAsk: true });
  system.register(createDomainBehavior({ partitions: PARTITIONS, ...o.domainOptions }));
  system.register(createSuppressionBehavior());
  await system.start();
  await waitFor(() => system.ownedPartitions("domain").length === PARTITIONS, { what: "domain partitions" });
  const content = await LocalContentStore.open(`${o.dir}/content`);
  const events: StatusEvent[] = [];
  const sub: Subscription = await bus.subscribe({
    group: `test-events-${Math.random()}`,
    topics: [STATUS_EVENTS_TOPIC],
    fromBeginning: true,
    handler: async (r) => {
      const e = JSON.parse(new TextDecoder().decode(r.value)) as StatusEvent;
      events.push(e);
      o.onEvent?.(e);
    },
  });
  // Signatures are made on a worker thread, as the relay does by default (PETREL_DKIM_THREADS=1).
  const dkim = new DkimPool(1);
  const workers = new DeliveryWorkers({
    bus,
    actors: system,
    resolver: createResolver({ servers: [o.dnsServer] }),
    content,
    sendingDomain: o.sendingDomain ?? (async (_a, d) => (d === o.domain.domain ? o.domain : undefined)),
    sign: o.dkim !== false,
    signer: dkim.sign,
    verpKey: VERP_KEY,
    port: o.smtpPort,
    ...(o.maxHeldBytes ? { maxHeldBytes: o.maxHeldBytes } : {}),
    pool: {
      name: "petrel.test",
      connectionTimeoutMs: 5_000,
      greetingTimeoutMs: 5_000,
      socketTimeoutMs: 10_000,
      idleMs: o.idleMs ?? 100,
      rejectUnauthorized: false,
    },
  });
  await workers.start();
  const listener = new BounceListener({
    host: "127.0.0.1",
    port: o.bouncePort ?? 0,
    name: "petrel.test",
    verpKey: VERP_KEY,
    isReturnPathHost: (h) => h === o.domain.returnPathHost,
    tell: (key, msg) => system.tell(key, msg),
  });
  const bouncePort = await listener.start();
  const eventsFor = (rid: string) => events.filter((e) => e.recipientId === rid);
  return {
    clock,
    system,
    suppression: new SuppressionService(system),
    content,
    events,
    bouncePort,
    eventsFor,
    heldBytes: workers.heldBytes,
    async submit(to, seq = 0, opts = {}) {
      const [record] = await submitRecords([to], seq, opts.isTest ?? false);
      return record as RecipientRecord;
    },
    submitMessage: (to) => submitRecords(to, 0, false),
    waitStatus: (rid, status, n = 1) =>
      waitFor(() => eventsFor(rid).filter((e) => e.status === status)[n - 1], {
        what: `${status} #${n} of ${rid}`,
        timeoutMs: 30_000,
      }),
    async stop() {
      await listener.stop();
      await workers.stop();
      await dkim.close();
      await sub.close();
      await system.stop();
      await bus.close();
    },
  };

  async function submitRecords(tos: string[], firstSeq: number, isTest: boolean): Promise<RecipientRecord[]> {
    const messageId = `m${process.pid}x${++messageSeq}`;
    const body = [
      `From: App <app@${o.domain.domain}>`,
      `To: ${tos.map((to) => `<${to}>`).join(", ")}`,
      `Subject: Test ${messageId}`,
      `Date: ${new Date(clock.now()).toUTCString()}`,
      `Message-ID: <${messageId}@${o.domain.domain}>`,
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "Hello from Petrel's delivery test.",
      ...padding(o.bodyBytes ?? 0),
      "",
    ].join("\r\n");
    const stored = await content.put(Readable.from([Buffer.from(body)]), { messageId });
    const records = tos.map(
      (to, i): RecipientRecord => ({
        recipientId: recipientId(messageId, firstSeq + i),
        messageId,
        accountId: "acct1",
        smtpUser: "user1",
        sender: `app@${o.domain.domain}`,
        recipient: to,
        recipientDomain: (to.split("@")[1] as string).toLowerCase(),
        sendingDomain: o.domain.domain,
        subject: `Test ${messageId}`,
        contentRef: stored.ref,
        size: stored.size,
        smtputf8: false,
        eightBit: false,
        isTest,
        acceptedAt: clock.now(),
        ...(tos.length > 1 ? { recipients: tos.length } : {}),
      }),
    );
    await system.tellAll(
      records.map((record) => ({ key: domainKey(record.recipientDomain), msg: { t: "recipient", record } })),
    );
    return records;
  }
}
