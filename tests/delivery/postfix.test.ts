import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainView } from "../../actors/domain/protocol.ts";
import { domainKey } from "../../actors/keys.ts";
import { decodeVerp } from "../../shared/bounce/verp.ts";
import { requireDnsServer } from "../dns/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { dkimVerify } from "./dkim-verify.ts";
import { type DeliveryNode, RETURN_PATH_HOST, sendingDomain, VERP_KEY } from "./harness.ts";
import { type Postfix, requirePostfix } from "./postfix.ts";
import { type PostfixStack, startPostfixStack } from "./postfix-stack.ts";

const available =
  requireDnsServer("delivery suites (tests/delivery/postfix.test.ts)") &&
  requirePostfix("delivery suites (tests/delivery/postfix.test.ts)");

const RCPT = "rcpt.test";
const domain = sendingDomain();
const options = {
  concurrency: 4,
  maxRetryMs: 30 * 60_000,
  backoff: { baseMs: 60_000, maxMs: 10 * 60_000, jitter: 0.2 },
};

/**
 * Advances the manual clock a minute at a time until `check` holds (bounded), but only while the
 * domain has no attempt in flight: the manual clock must not outrun a real SMTP exchange.
 */
async function advanceUntil<T>(node: DeliveryNode, check: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = check();
    if (v) return v;
    const view = (await node.system.ask(domainKey(RCPT), { t: "inspect" })) as DomainView;
    if (view.inflight === 0) node.clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never reached: ${what}`);
}

describe.skipIf(!available)("delivery to a real Postfix", () => {
  let stack: PostfixStack;
  let postfix: Postfix;
  let node: DeliveryNode;

  beforeAll(async () => {
    stack = await startPostfixStack({
      rcptDomain: RCPT,
      domain,
      domainOptions: options,
      postfix: {
        domains: [RCPT, `vanished.${RCPT}`],
        users: ["alice", "defer", "stuck", "gone"].map((u) => `${u}@${RCPT}`),
        access: {
          [`defer@${RCPT}`]: "450 4.2.0 Mailbox busy, try later",
          [`stuck@${RCPT}`]: "451 4.3.0 Try again later",
        },
        aliases: { [`gone@${RCPT}`]: `gone@vanished.${RCPT}` },
      },
    });
    ({ postfix, node } = stack);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("delivers into the mailbox, DKIM-signed (dkimpy verifies) with a VERP Return-Path (D1–D4)", async () => {
    const r = await node.submit(`alice@${RCPT}`);
    const ev = await node.waitStatus(r.recipientId, "Delivered");
    expect(ev.mxHost).toBe(`mx.${RCPT}`);
    expect(ev.remoteReply).toMatch(/^250 /);
    expect(node.eventsFor(r.recipientId).map((e) => e.status)).toEqual(["Pending", "Delivered"]);
    const [mail] = await waitFor(async () => {
      const m = await postfix.mailbox(`alice@${RCPT}`);
      return m.length > 0 ? m : undefined;
    });
    expect(mail).toMatch(/with ESMTPS/); // D2: STARTTLS, since Postfix offers it
    expect(mail).toContain("DKIM-Signature:");
    expect(mail).toMatch(/s=pt2;/);
    const verdict = await dkimVerify(stack.dns, mail as string);
    expect(verdict.out).toContain("signature ok");
    const rp = /^Return-Path: <([^>]+)>/m.exec(mail as string)?.[1] ?? "";
    expect(rp.endsWith(`@${RETURN_PATH_HOST}`)).toBe(true);
    const v = decodeVerp(rp, VERP_KEY);
    expect(v.ok && v.recipientId).toBe(r.recipientId);
    // The verifier can fail: a changed body does not verify.
    const tampered = await dkimVerify(stack.dns, (mail as string).replace("Hello from", "Hello FROM"));
    expect(tampered.ok).toBe(false);
  });

  it("a 550 5.1.1 refusal is a hard bounce and suppresses the address (D6, D8)", async () => {
    const r = await node.submit(`nobody@${RCPT}`);
    const ev = await node.waitStatus(r.recipientId, "HardBounce");
    expect(ev.reason).toBe("unknown_user");
    expect(ev.remoteReply).toMatch(/^550 5\.1\.1 .*User unknown/);
    const list = await waitFor(async () => {
      const l = await node.suppression.list("acct1");
      return l.some((e) => e.address === `nobody@${RCPT}`) ? l : undefined;
    });
    expect(list.find((e) => e.address === `nobody@${RCPT}`)?.reason).toBe("unknown_user");
  });

  it("a 450 deferral is Deferred, survives a restart mid-schedule, and is delivered once lifted (D6)", async () => {
    const r = await node.submit(`defer@${RCPT}`);
    const d = await node.waitStatus(r.recipientId, "Deferred");
    expect(d.remoteReply).toMatch(/^450 4\.2\.0 .*Mailbox busy/);
    expect(d.reason).toBe("remote_temporary");
    // Restart the whole delivery side while the retry timer is pending.
    const clock = node.clock;
    await node.stop();
    await postfix.setAccess({ [`stuck@${RCPT}`]: "451 4.3.0 Try again later" });
    node = await stack.restart({ clock });
    await advanceUntil(
      node,
      () => node.eventsFor(r.recipientId).find((e) => e.status === "Delivered"),
      "Delivered after lift",
    );
    // Postfix's 250 means queued: its local delivery to the mailbox follows a moment later.
    const boxes = await waitFor(async () => {
      const m = await postfix.mailbox(`defer@${RCPT}`);
      return m.length > 0 ? m : undefined;
    });
    expect(boxes).toHaveLength(1);
    const statuses = node.eventsFor(r.recipientId).map((e) => e.status);
    expect(statuses.filter((s) => s === "Delivered")).toHaveLength(1);
    expect(statuses[0]).toBe("Pending");
  });

  it("a deferral that never lifts becomes a soft bounce after the retry period (D6)", async () => {
    const r = await node.submit(`stuck@${RCPT}`);
    await node.waitStatus(r.recipientId, "Deferred");
    const soft = await advanceUntil(
      node,
      () => node.eventsFor(r.recipientId).find((e) => e.status === "SoftBounce"),
      "SoftBounce",
    );
    expect(soft.reason).toBe("retry_period_expired");
    expect(soft.remoteReply).toContain("451 4.3.0");
    expect(soft.ts - r.acceptedAt).toBeGreaterThan(options.maxRetryMs - options.backoff.maxMs * 1.2);
    expect(node.eventsFor(r.recipientId).filter((e) => e.status === "Deferred").length).toBeGreaterThan(1);
    expect(await node.suppression.has("acct1", `stuck@${RCPT}`)).toBe(false);
  });

  it("accepted, then a non-delivery report to the Return-Path turns Delivered into a bounce (D7)", async () => {
    const r = await node.submit(`gone@${RCPT}`);
    await node.waitStatus(r.recipientId, "Delivered").catch(async (e) => {
      console.error(node.eventsFor(r.recipientId), (await postfix.log()).slice(-3000));
      throw e;
    });
    const hb = await node.waitStatus(r.recipientId, "HardBounce").catch(async (e) => {
      console.error(node.eventsFor(r.recipientId), await postfix.log());
      throw e;
    });
    expect(hb.reason).toBe("unknown_user");
    expect(hb.remoteReply).toContain("unknown user");
    expect(node.eventsFor(r.recipientId).map((e) => e.status)).toEqual([
      "Pending",
      "Delivered",
      "HardBounce",
    ]);
  });
});
