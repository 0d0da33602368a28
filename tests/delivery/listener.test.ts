/**
 * The delayed-bounce listener (D7) over a real socket, nodemailer's SMTP client as the remote
 * MTA: only return-path hosts and only VERP addresses we issued are accepted; an RFC 3464
 * report is parsed and the recipient's domain actor is told (here: a recording `tell`).
 */
import SMTPConnection from "nodemailer/lib/smtp-connection";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainMsg } from "../../actors/domain/protocol.ts";
import { BounceListener } from "../../ingress/bounce-listener.ts";
import { encodeMessageVerp, encodeVerp } from "../../shared/bounce/verp.ts";
import { dsnFor } from "./dkim-verify.ts";

const KEY = "listener-test-key-0123456789";
const HOST = "bounces.sender.test";

function send(port: number, to: string, message: string): Promise<{ ok: boolean; response: string }> {
  const c = new SMTPConnection({ host: "127.0.0.1", port, ignoreTLS: true });
  return new Promise((resolve) => {
    c.on("error", (e) =>
      resolve({ ok: false, response: String((e as { response?: string }).response ?? e) }),
    );
    c.connect(() =>
      c.send({ from: "", to }, message, (err, info) => {
        c.quit();
        resolve(err ? { ok: false, response: String(err.response) } : { ok: true, response: info.response });
      }),
    );
  });
}

const dsn = (verp: string) => dsnFor(verp);

describe("bounce listener (D7)", () => {
  const told: { key: string; msg: DomainMsg }[] = [];
  const listener = new BounceListener({
    host: "127.0.0.1",
    port: 0,
    name: "petrel.test",
    verpKey: KEY,
    isReturnPathHost: (h) => h === HOST,
    tell: async (key, msg) => {
      told.push({ key, msg });
    },
  });
  let port = 0;
  beforeAll(async () => {
    port = await listener.start();
  });
  afterAll(() => listener.stop());

  it("refuses other hosts and addresses we did not issue", async () => {
    const other = await send(port, "someone@elsewhere.test", dsn("x"));
    expect(other.ok).toBe(false);
    expect(other.response).toMatch(/^550/);
    const forged = await send(port, `b-abc-aaaaaaaa@${HOST}`, dsn("x"));
    expect(forged.ok).toBe(false);
    expect(told).toHaveLength(0);
  });

  it("parses a report to a VERP address and tells the recipient's domain actor", async () => {
    const verp = encodeVerp("msg42.3", HOST, KEY);
    const r = await send(port, verp, dsn(verp));
    expect(r.ok).toBe(true);
    expect(told).toHaveLength(1);
    const t = told[0] as { key: string; msg: Extract<DomainMsg, { t: "bounce" }> };
    expect(t.key).toBe("domain:rcpt.test");
    expect(t.msg.bounce).toMatchObject({ recipientId: "msg42.3", result: "hard", reason: "unknown_user" });
    expect(t.msg.bounce.remoteReply).toContain("550 5.1.1");
  });

  it("a report to a message's Return-Path names the message and the failed recipient's address", async () => {
    told.length = 0;
    const verp = encodeMessageVerp("msg43", HOST, KEY);
    const r = await send(port, verp, dsnFor(verp, "carol@rcpt.test"));
    expect(r.ok).toBe(true);
    const t = told[0] as { key: string; msg: Extract<DomainMsg, { t: "bounce" }> };
    expect(t.key).toBe("domain:rcpt.test");
    expect(t.msg.bounce.recipientId).toBeUndefined();
    expect(t.msg.bounce).toMatchObject({ messageId: "msg43", result: "hard", reason: "unknown_user" });
    expect(t.msg.bounce.addresses).toContain("carol@rcpt.test");
  });
});
