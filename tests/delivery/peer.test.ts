/**
 * Outbound SMTP features against real Postfix peers on loopback (D2, D3), each seen through a
 * recording relay (tests/delivery/wire.ts) so the session can be read on the wire:
 *
 * - ed25519-sha256 DKIM (RFC 8463) with a key made by shared/domains, verified by dkimpy;
 * - signing keys that cannot be had → Deferred, nothing sent, delivered signed once they can;
 * - SMTPUTF8 (RFC 6531): a UTF-8 recipient is delivered where Postfix offers SMTPUTF8, and where
 *   it does not, nothing is sent: a soft bounce `553 5.6.7` that does not suppress;
 * - PIPELINING (RFC 2920): nodemailer's client sends MAIL, RCPT and DATA in one flight when
 *   offered, and waits for each reply when not.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainView } from "../../actors/domain/protocol.ts";
import { domainKey } from "../../actors/keys.ts";
import { dkimTxtStrings, generateDkimKey } from "../../shared/domains/dkim.ts";
import type { SendingDomain } from "../../shared/model/account/protocol.ts";
import { type DnsServer, requireDnsServer, startDnsServer, testZone } from "../dns/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { dkimVerify } from "./dkim-verify.ts";
import { type DeliveryNode, dkimTxt, SENDER_DOMAIN, sendingDomain, startDelivery } from "./harness.ts";
import { type Postfix, requirePostfix, startPostfix } from "./postfix.ts";
import { clientFlights, startWire, type Wire } from "./wire.ts";

const available =
  requireDnsServer("outbound SMTP features (tests/delivery/peer.test.ts)") &&
  requirePostfix("outbound SMTP features (tests/delivery/peer.test.ts)");

/** Offers SMTPUTF8 and PIPELINING. */
const MODERN = "modern.test";
/** Offers neither. */
const PLAIN = "plain.test";
const ED = "ed.test";
const options = {
  concurrency: 2,
  maxRetryMs: 30 * 60_000,
  backoff: { baseMs: 60_000, maxMs: 10 * 60_000, jitter: 0.2 },
};

const quoted = (strings: string[]) => `( ${strings.map((s) => `"${s}"`).join(" ")} )`;

async function mailbox(postfix: Postfix, address: string): Promise<string[]> {
  return waitFor(
    async () => {
      const m = await postfix.mailbox(address);
      return m.length > 0 ? m : undefined;
    },
    { what: `mail for ${address}`, timeoutMs: 30_000 },
  );
}

/** Advances the manual clock a minute at a time while no attempt is in flight, until `check`. */
async function advanceUntil<T>(node: DeliveryNode, domain: string, check: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = check();
    if (v) return v;
    const view = (await node.system.ask(domainKey(domain), { t: "inspect" })) as DomainView;
    if (view.inflight === 0) node.clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("never reached");
}

describe.skipIf(!available)("outbound SMTP features against real Postfix peers", () => {
  let dir: string;
  let dns: DnsServer;
  let modern: Postfix;
  let plain: Postfix;
  let modernWire: Wire;
  let plainWire: Wire;
  const nodes: DeliveryNode[] = [];
  const rsa = sendingDomain();
  let ed: SendingDomain;

  const node = async (name: string, port: number, o: Partial<Parameters<typeof startDelivery>[0]> = {}) => {
    const n = await startDelivery({
      dir: join(dir, name),
      dnsServer: dns.address,
      smtpPort: port,
      domain: rsa,
      domainOptions: options,
      ...o,
    });
    nodes.push(n);
    return n;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "petrel-peer-"));
    const keys = await Promise.all(["ed1", "ed2"].map((s) => generateDkimKey(s, "ed25519-sha256")));
    ed = {
      ...rsa,
      id: "d2",
      domain: ED,
      dkim: [keys[0]!, keys[1]!],
      activeSelector: "ed2",
      returnPathHost: `bounces.${ED}`,
    };
    dns = await startDnsServer({
      zones: [
        testZone(MODERN, ["@ IN MX 10 mx", "mx IN A 127.0.0.1"]),
        testZone(PLAIN, ["@ IN MX 10 mx", "mx IN A 127.0.0.1"]),
        testZone(
          SENDER_DOMAIN,
          rsa.dkim.map((k) => `${k.selector}._domainkey IN TXT ${dkimTxt(k.publicKey)}`),
        ),
        testZone(
          ED,
          ed.dkim.map((k) => `${k.selector}._domainkey IN TXT ${quoted(dkimTxtStrings(k))}`),
        ),
      ],
    });
    modern = await startPostfix({
      domains: [MODERN],
      users: ["alice", "josé", "later", "broken"].map((u) => `${u}@${MODERN}`),
      smtputf8: true,
      starttls: false,
    });
    plain = await startPostfix({
      domains: [PLAIN],
      users: ["bob", "zoë"].map((u) => `${u}@${PLAIN}`),
      smtputf8: false,
      starttls: false,
      pipelining: false,
    });
    modernWire = await startWire(modern.port);
    plainWire = await startWire(plain.port);
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await modernWire?.close();
    await plainWire?.close();
    await modern?.stop();
    await plain?.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("signs with ed25519-sha256 when the domain's active key is Ed25519; dkimpy verifies (D3, RFC 8463)", async () => {
    const n = await node("ed", modernWire.port, { domain: ed });
    const r = await n.submit(`alice@${MODERN}`);
    await n.waitStatus(r.recipientId, "Delivered");
    const [mail] = await mailbox(modern, `alice@${MODERN}`);
    const sig = /^DKIM-Signature:[\s\S]*?(?=\r?\n\S)/m.exec(mail as string)?.[0] ?? "";
    expect(sig).toMatch(/a=ed25519-sha256;/);
    expect(sig).toMatch(/s=ed2;/);
    expect(sig).toMatch(/d=ed\.test;/);
    expect(sig).toMatch(/c=relaxed\/relaxed;/);
    expect((await dkimVerify(dns, mail as string)).out).toContain("signature ok");
    const tampered = await dkimVerify(dns, (mail as string).replace("Hello from", "Hello FROM"));
    expect(tampered.ok).toBe(false);
  });

  it("defers, sending nothing, while the DKIM keys cannot be had; delivers signed once they can (D3, D6)", async () => {
    let keysDown = true;
    let broken = false;
    const n = await node("keys", modernWire.port, {
      sendingDomain: async (_a, d) => {
        if (keysDown) throw new Error("ask timed out after 5000 ms (account:acct1)");
        if (broken) return { ...rsa, dkim: [rsa.dkim[0], { ...rsa.dkim[1], privateKeyPem: "not a key" }] };
        return d === SENDER_DOMAIN ? rsa : undefined;
      },
    });
    const r = await n.submit(`later@${MODERN}`);
    const d = await n.waitStatus(r.recipientId, "Deferred");
    expect(d.reason).toBe("sender_authentication");
    expect(d.remoteReply).toContain("not sent unsigned");
    expect(d.remoteReply).toContain("ask timed out");
    // A key that does not sign is the same: deferred, not sent.
    keysDown = false;
    broken = true;
    await advanceUntil(n, MODERN, () => n.eventsFor(r.recipientId).filter((e) => e.status === "Deferred")[1]);
    expect(clientFlights(modernWire, `later@${MODERN}`)).toEqual([]);
    expect(await modern.mailbox(`later@${MODERN}`)).toEqual([]);
    broken = false;
    await advanceUntil(n, MODERN, () => n.eventsFor(r.recipientId).find((e) => e.status === "Delivered"));
    const box = await mailbox(modern, `later@${MODERN}`);
    expect(box).toHaveLength(1);
    expect((await dkimVerify(dns, box[0] as string)).out).toContain("signature ok");
    // Pending once, when first queued (the domain actor's retries do not repeat it).
    expect(n.eventsFor(r.recipientId).map((e) => e.status)).toEqual([
      "Pending",
      "Deferred",
      "Deferred",
      "Delivered",
    ]);
  });

  it("a deleted sending domain is not sent unsigned either: deferred (D3)", async () => {
    const n = await node("gone", modernWire.port, { sendingDomain: async () => undefined });
    const r = await n.submit(`broken@${MODERN}`);
    const d = await n.waitStatus(r.recipientId, "Deferred");
    expect(d.remoteReply).toContain("no such sending domain");
    expect(clientFlights(modernWire, `broken@${MODERN}`)).toEqual([]);
  });

  it("delivers to a UTF-8 recipient with SMTPUTF8 where Postfix offers it (D2, RFC 6531)", async () => {
    const n = await node("utf8", modernWire.port);
    const r = await n.submit(`josé@${MODERN}`);
    await n.waitStatus(r.recipientId, "Delivered");
    const [mail] = await mailbox(modern, `josé@${MODERN}`);
    expect(mail).toContain(`josé@${MODERN}`);
    const flights = clientFlights(modernWire, `RCPT TO:<josé@${MODERN}>`).join("");
    expect(flights).toMatch(/MAIL FROM:<[^>]+> SMTPUTF8/);
  });

  it("pipelines MAIL, RCPT and DATA in one flight when PIPELINING is offered (D2, RFC 2920)", () => {
    const flight = clientFlights(modernWire, `RCPT TO:<josé@${MODERN}>`).find((f) =>
      f.includes(`RCPT TO:<josé@${MODERN}>`),
    );
    expect(flight).toMatch(/MAIL FROM:[^\r\n]*\r\nRCPT TO:<josé@modern\.test>\r\nDATA\r\n/);
  });

  let plainNode: DeliveryNode;

  it("where PIPELINING is not offered, waits for each reply; delivered (D2)", async () => {
    plainNode = await node("plain", plainWire.port);
    const n = plainNode;
    const r = await n.submit(`bob@${PLAIN}`);
    await n.waitStatus(r.recipientId, "Delivered");
    expect(await mailbox(plain, `bob@${PLAIN}`)).toHaveLength(1);
    const flights = clientFlights(plainWire, `RCPT TO:<bob@${PLAIN}>`);
    const mail = flights.findIndex((f) => f.includes("MAIL FROM:"));
    const rcpt = flights.findIndex((f) => f.includes(`RCPT TO:<bob@${PLAIN}>`));
    const data = flights.indexOf("DATA\r\n");
    expect(mail).toBeGreaterThanOrEqual(0);
    expect(rcpt).toBe(mail + 1);
    expect(data).toBe(rcpt + 1);
  });

  it("where SMTPUTF8 is not offered, a UTF-8 recipient is never sent: soft bounce 553 5.6.7, not suppressed", async () => {
    const n = plainNode ?? (await node("plain", plainWire.port));
    const r = await n.submit(`zoë@${PLAIN}`);
    const soft = await n.waitStatus(r.recipientId, "SoftBounce");
    expect(soft.remoteReply).toMatch(/^553 5\.6\.7 .*SMTPUTF8/);
    expect(soft.reason).toBe("message_rejected");
    expect(soft.mxHost).toBe(`mx.${PLAIN}`);
    expect(
      plainWire
        .sessions()
        .flat()
        .some((f) => f.text.includes("zoë")),
    ).toBe(false);
    expect(await plain.mailbox(`zoë@${PLAIN}`)).toEqual([]);
    expect(await n.suppression.has("acct1", `zoë@${PLAIN}`)).toBe(false);
  });
});
