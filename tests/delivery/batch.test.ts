import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainView } from "../../actors/domain/protocol.ts";
import { domainKey } from "../../actors/keys.ts";
import { decodeReturnPath, encodeMessageVerp } from "../../shared/bounce/verp.ts";
import { requireDnsServer } from "../dns/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { dkimVerify } from "./dkim-verify.ts";
import { type DeliveryNode, RETURN_PATH_HOST, sendingDomain, VERP_KEY } from "./harness.ts";
import { type Postfix, requirePostfix } from "./postfix.ts";
import { type PostfixStack, startPostfixStack } from "./postfix-stack.ts";
import type { Wire } from "./wire.ts";

const available =
  requireDnsServer("delivery per message (tests/delivery/batch.test.ts)") &&
  requirePostfix("delivery per message (tests/delivery/batch.test.ts)");

const RCPT = "batch.test";
const domain = sendingDomain();
const options = {
  concurrency: 4,
  maxRetryMs: 30 * 60_000,
  backoff: { baseMs: 60_000, maxMs: 10 * 60_000, jitter: 0.2 },
  batchRecipients: 50,
};

/** Everything the client wrote, in all sessions. */
const clientText = (wire: Wire) =>
  wire
    .sessions()
    .flatMap((s) => s.filter((f) => f.from === "client").map((f) => f.text))
    .join("");

/** The RCPT TO commands of each transaction whose MAIL FROM is `from`. */
function transactions(wire: Wire, from: string): string[][] {
  const out: string[][] = [];
  let current: string[] | undefined;
  for (const line of clientText(wire).split("\r\n")) {
    if (/^MAIL FROM:/i.test(line)) {
      current = line.toLowerCase().includes(`<${from.toLowerCase()}>`) ? [] : undefined;
      if (current) out.push(current);
    } else if (/^RCPT TO:/i.test(line)) current?.push(line);
  }
  return out;
}

async function mailbox(postfix: Postfix, address: string): Promise<string[]> {
  return waitFor(
    async () => {
      const m = await postfix.mailbox(address);
      return m.length > 0 ? m : undefined;
    },
    { what: `mail for ${address}`, timeoutMs: 30_000 },
  );
}

describe.skipIf(!available)("delivery per message: one transaction for a message's recipients", () => {
  let stack: PostfixStack;
  let postfix: Postfix;
  let wire: Wire;
  let node: DeliveryNode;

  beforeAll(async () => {
    stack = await startPostfixStack({
      rcptDomain: RCPT,
      domain,
      domainOptions: options,
      postfix: {
        domains: [RCPT, `vanished.${RCPT}`],
        users: ["alice", "bob", "carol", "dave", "erin", "frank", "busy", "gone"].map((u) => `${u}@${RCPT}`),
        access: { [`busy@${RCPT}`]: "450 4.2.0 Mailbox busy, try later" },
        aliases: { [`gone@${RCPT}`]: `gone@vanished.${RCPT}` },
        starttls: false,
      },
      wire: true,
    });
    postfix = stack.postfix;
    node = stack.node;
    wire = stack.wire as Wire;
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("sends five recipients in one transaction with one DKIM signature; a refused RCPT is its own HardBounce", async () => {
    const to = ["alice", "bob", "carol", "nobody", "dave"].map((u) => `${u}@${RCPT}`);
    const records = await node.submitMessage(to);
    const [alice, bob, carol, nobody, dave] = records.map((r) => r.recipientId) as string[];
    const hard = await node.waitStatus(nobody as string, "HardBounce");
    const delivered = await Promise.all(
      [alice, bob, carol, dave].map((id) => node.waitStatus(id as string, "Delivered")),
    );
    // One MAIL FROM (the message's Return-Path), five RCPTs.
    const from = encodeMessageVerp(records[0]?.messageId as string, RETURN_PATH_HOST, VERP_KEY);
    const tx = transactions(wire, from);
    expect(tx).toHaveLength(1);
    expect(tx[0]).toHaveLength(5);
    // Per recipient: its own events; the refusal's own reply, the others the reply to DATA.
    expect(hard.reason).toBe("unknown_user");
    expect(hard.remoteReply).toMatch(/^550 5\.1\.1 .*User unknown/);
    for (const id of [alice, bob, carol, dave])
      expect(node.eventsFor(id as string).map((e) => e.status)).toEqual(["Pending", "Delivered"]);
    expect(node.eventsFor(nobody as string).map((e) => e.status)).toEqual(["Pending", "HardBounce"]);
    expect(new Set(delivered.map((e) => e.remoteReply)).size).toBe(1);
    expect(delivered[0]?.remoteReply).toMatch(/^250 /);
    expect(delivered.every((e) => e.mxHost === `mx.${RCPT}` && e.attempt === 1)).toBe(true);
    expect(
      await waitFor(() => node.suppression.has("acct1", `nobody@${RCPT}`).then((v) => v || undefined)),
    ).toBe(true);
    // Each mailbox got the message once, with one DKIM-Signature that dkimpy verifies.
    for (const user of ["alice", "bob", "carol", "dave"]) {
      const mails = await mailbox(postfix, `${user}@${RCPT}`);
      expect(mails).toHaveLength(1);
      const mail = mails[0] as string;
      expect(mail.match(/^DKIM-Signature:/gm)).toHaveLength(1);
      expect((await dkimVerify(stack.dns, mail)).out).toContain("signature ok");
      const rp = /^Return-Path: <([^>]+)>/m.exec(mail)?.[1] ?? "";
      const v = decodeReturnPath(rp, VERP_KEY);
      expect(v.ok && v.kind === "message" && v.messageId).toBe(records[0]?.messageId);
    }
  });

  it("a deferred RCPT among three is Deferred and retried alone; the others are delivered once", async () => {
    const records = await node.submitMessage(["erin", "busy", "frank"].map((u) => `${u}@${RCPT}`));
    const [erin, busy, frank] = records.map((r) => r.recipientId) as string[];
    const deferred = await node.waitStatus(busy as string, "Deferred");
    expect(deferred.remoteReply).toMatch(/^450 4\.2\.0 .*Mailbox busy/);
    await node.waitStatus(erin as string, "Delivered");
    await node.waitStatus(frank as string, "Delivered");
    const from = encodeMessageVerp(records[0]?.messageId as string, RETURN_PATH_HOST, VERP_KEY);
    expect(transactions(wire, from).map((t) => t.length)).toEqual([3]);
    // Lifted: the retry is busy's alone (its own timer), the others are not sent again.
    await postfix.setAccess({});
    let delivered: unknown;
    for (let i = 0; i < 100 && !delivered; i++) {
      delivered = node.eventsFor(busy as string).find((e) => e.status === "Delivered");
      const view = (await node.system.ask(domainKey(RCPT), { t: "inspect" })) as DomainView;
      if (!delivered && view.inflight === 0) node.clock.advance(60_000);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(node.eventsFor(busy as string).map((e) => [e.status, e.attempt])).toEqual([
      ["Pending", 0],
      ["Deferred", 1],
      ["Delivered", 2],
    ]);
    for (const id of [erin, frank])
      expect(node.eventsFor(id as string).map((e) => e.status)).toEqual(["Pending", "Delivered"]);
    expect(await mailbox(postfix, `erin@${RCPT}`)).toHaveLength(1);
    expect(await mailbox(postfix, `busy@${RCPT}`)).toHaveLength(1);
  });

  it("a later non-delivery report to the message's Return-Path bounces only the recipient it names (D7)", async () => {
    const records = await node.submitMessage(["bob", "gone"].map((u) => `${u}@${RCPT}`));
    const [bob, gone] = records.map((r) => r.recipientId) as string[];
    await node.waitStatus(bob as string, "Delivered");
    await node.waitStatus(gone as string, "Delivered");
    const hb = await node.waitStatus(gone as string, "HardBounce").catch(async (e) => {
      console.error(node.eventsFor(gone as string), (await postfix.log()).slice(-3000));
      throw e;
    });
    expect(hb.reason).toBe("unknown_user");
    expect(node.eventsFor(gone as string).map((e) => e.status)).toEqual([
      "Pending",
      "Delivered",
      "HardBounce",
    ]);
    // The report went to the message's address; bob, delivered in the same transaction, stays Delivered.
    const [mail] = await mailbox(postfix, `bob@${RCPT}`).then((m) => m.slice(-1));
    const v = decodeReturnPath(/^Return-Path: <([^>]+)>/m.exec(mail as string)?.[1] ?? "", VERP_KEY);
    expect(v.ok && v.kind === "message" && v.messageId).toBe(records[0]?.messageId);
    await node.system.ask(domainKey(RCPT), { t: "inspect" });
    expect(node.eventsFor(bob as string).map((e) => e.status)).toEqual(["Pending", "Delivered"]);
  });
});
