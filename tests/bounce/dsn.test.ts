/**
 * Delayed bounces (D7): every report of `../shared/bounce-corpus/dsn/` parses to its sidecar's
 * recipient, status and label, and maps back through its VERP Return-Path (D4) to exactly one
 * recipient; forged Return-Paths are rejected.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { recipientId } from "../../actors/keys.ts";
import { isSuppressible } from "../../shared/bounce/classify.ts";
import { type BounceReport, parseBounce } from "../../shared/bounce/dsn.ts";
import {
  decodeReturnPath,
  decodeVerp,
  encodeMessageVerp,
  encodeVerp,
  findVerp,
  MAX_LOCAL_PART,
} from "../../shared/bounce/verp.ts";
import { CORPUS_DIR } from "./corpus-dir.ts";

const DSN_DIR = join(CORPUS_DIR, "dsn");
const KEY = "test-verp-key-1";
const HOST = "bounces.sender.example";
const HOSTS = new Set([HOST]);
const RCPT_ID = recipientId("01JD2Q5ZB4K7M9XW3YV6T8N0PA", 3);
const RETURN_PATH = encodeVerp(RCPT_ID, HOST, KEY);
const RECIPIENT = "ann.lee@dest.example";
const MESSAGE_ID = "<01JD2Q5ZB4K7M9XW3YV6T8N0PA@petrel.test>";
const DATE = "Thu, 29 Apr 2021 23:34:45 +0900";

function fill(s: string, returnPath = RETURN_PATH): string {
  return s
    .replaceAll("{{RETURN_PATH}}", returnPath)
    .replaceAll("{{RECIPIENT}}", RECIPIENT)
    .replaceAll("{{MESSAGE_ID}}", MESSAGE_ID)
    .replaceAll("{{DATE}}", DATE);
}

interface Sidecar {
  label: "hard" | "soft" | "none";
  format: string;
  recipient: { expect: string };
  status: { field?: string; regex?: string; header?: string; expect: string };
  uses_message_id: boolean;
}

const cases = readdirSync(DSN_DIR)
  .filter((f) => f.endsWith(".eml"))
  .sort()
  .map((eml) => {
    const sidecar = JSON.parse(
      readFileSync(join(DSN_DIR, eml.replace(/\.eml$/, ".json")), "utf8"),
    ) as Sidecar;
    return { name: eml.replace(/\.eml$/, ""), template: readFileSync(join(DSN_DIR, eml), "utf8"), sidecar };
  });

function bounce(r: BounceReport): Extract<BounceReport, { type: "bounce" }> {
  if (r.type !== "bounce") throw new Error(`expected a bounce, got ${JSON.stringify(r)}`);
  return r;
}

describe("delayed-bounce corpus (D7)", () => {
  it("holds the 14 reports the README describes", () => {
    expect(cases).toHaveLength(14);
  });

  it.each(cases)("$name → $sidecar.label ($sidecar.format)", async ({ template, sidecar }) => {
    const report = await parseBounce(Buffer.from(fill(template)));
    if (sidecar.label === "none") {
      expect(report).toEqual({ type: "none", why: "auto_reply" });
      return;
    }
    const b = bounce(report);
    expect(b.recipients).toHaveLength(1);
    const [r] = b.recipients;
    expect(fill(sidecar.recipient.expect)).toContain(r!.recipient);
    expect(r!.recipient).toBe(RECIPIENT);
    expect(r!.action).toBe("failed");
    expect(r!.classification.result).toBe(sidecar.label);
    expect(isSuppressible(r!.classification)).toBe(sidecar.label === "hard");
    if (sidecar.status.field === "Status") expect(r!.status).toBe(sidecar.status.expect);
    else expect(r!.diagnostic).toBe(fill(sidecar.status.expect));
    if (sidecar.uses_message_id) expect(b.original?.messageId).toBe(MESSAGE_ID);
    // The VERP address in the report maps back to exactly our recipient id.
    expect(findVerp(b.verpCandidates, KEY, HOSTS)).toMatchObject({ recipientId: RCPT_ID, seq: 3 });
  });

  it("reads a stream as well as a buffer", async () => {
    const d01 = cases.find((c) => c.name.startsWith("d01"))!;
    const report = bounce(await parseBounce(Readable.from([Buffer.from(fill(d01.template))])));
    expect(report.recipients[0]).toMatchObject({
      recipient: RECIPIENT,
      status: "5.1.1",
      remoteMta: "aspmx.l.google.com",
    });
  });

  it("a report whose Return-Path we did not issue resolves to no recipient (forged bounce)", async () => {
    const forged = RETURN_PATH.replace(
      /-([a-z2-7]{8})@/,
      (_m, mac: string) => `-${mac.split("").reverse().join("")}@`,
    );
    expect(forged).not.toBe(RETURN_PATH);
    for (const c of cases.filter((c) => c.sidecar.label !== "none")) {
      const b = bounce(await parseBounce(Buffer.from(fill(c.template, forged))));
      expect(findVerp(b.verpCandidates, KEY, HOSTS), c.name).toBeNull();
    }
  });
});

function report(perRecipient: string[], extraMessageFields = ""): string {
  return [
    "From: MAILER-DAEMON@mx.dest.example",
    `To: ${RETURN_PATH}`,
    "Subject: Undelivered Mail Returned to Sender",
    "MIME-Version: 1.0",
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain",
    "",
    "Delivery report.",
    "--b1",
    "Content-Type: message/delivery-status",
    "",
    `Reporting-MTA: dns; mx.dest.example${extraMessageFields}`,
    "",
    perRecipient.join("\n\n"),
    "",
    "--b1",
    "Content-Type: text/rfc822-headers",
    "",
    `Return-Path: <${RETURN_PATH}>`,
    `Message-ID: ${MESSAGE_ID}`,
    "",
    "--b1--",
    "",
  ].join("\r\n");
}

describe("RFC 3464 reports", () => {
  it("lists only the failed recipients of a report, each classified", async () => {
    const b = bounce(
      await parseBounce(
        report([
          "Final-Recipient: rfc822; a@dest.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown",
          "Final-Recipient: rfc822; b@dest.example\nAction: delivered\nStatus: 2.0.0",
          "Final-Recipient: rfc822; c@dest.example\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 552 5.2.2\n Mailbox full",
        ]),
      ),
    );
    expect(b.recipients.map((r) => [r.recipient, r.status, r.classification.result])).toEqual([
      ["a@dest.example", "5.1.1", "hard"],
      ["c@dest.example", "5.2.2", "soft"],
    ]);
    expect(b.recipients[1]!.diagnostic).toBe("552 5.2.2 Mailbox full");
    expect(b.original).toMatchObject({ messageId: MESSAGE_ID, returnPath: RETURN_PATH });
  });

  it("a delay warning (Action: delayed) is not a bounce", async () => {
    const r = await parseBounce(
      report([
        "Final-Recipient: rfc822; a@dest.example\nAction: delayed\nStatus: 4.4.1\nDiagnostic-Code: smtp; 451 4.4.1 later",
      ]),
    );
    expect(r).toEqual({ type: "none", why: "no_failed_recipient" });
  });

  it("a remote MTA that gave up after temporary failures (failed, 4.x.x) is a soft bounce, never hard", async () => {
    const b = bounce(
      await parseBounce(
        report([
          "Final-Recipient: rfc822; a@dest.example\nAction: failed\nStatus: 4.4.3\nDiagnostic-Code: X-Postfix; Host or domain name not found. Name service error for name=dest.example type=MX: Host not found, try again",
          "Final-Recipient: rfc822; b@dest.example\nAction: failed\nStatus: 4.1.1\nDiagnostic-Code: smtp; 450 4.1.1 User unknown in virtual alias table",
        ]),
      ),
    );
    expect(b.recipients.map((r) => r.classification.result)).toEqual(["soft", "soft"]);
    expect(b.recipients[0]!.classification.reason).toBe("dns_temporary");
  });

  it("Postfix's notification text alone (no report part) is read as well", async () => {
    const d01 = fill(cases.find((c) => c.name.startsWith("d01"))!.template);
    const notice = /Content-Type: text\/plain; charset=us-ascii\n\n([\s\S]*?)\n--/.exec(d01)![1]!;
    const mail = `From: MAILER-DAEMON@mail.example\nTo: ${RETURN_PATH}\nSubject: Undelivered Mail\n\n${notice}`;
    const b = bounce(await parseBounce(mail));
    expect(b.format).toBe("postfix_text");
    expect(b.recipients[0]).toMatchObject({
      recipient: RECIPIENT,
      status: "5.1.1",
      remoteMta: "aspmx.l.google.com",
      classification: { result: "hard", kind: "unknown_user" },
    });
  });

  it("an ordinary message is not a bounce", async () => {
    expect(await parseBounce(`From: a@b.example\nTo: ${RETURN_PATH}\nSubject: hi\n\nhello`)).toEqual({
      type: "none",
      why: "not_a_bounce",
    });
  });
});

describe("VERP Return-Path (D4)", () => {
  it("round-trips a recipient id, whatever case the address comes back in", () => {
    const a = encodeVerp("msg-1.0", HOST, KEY);
    expect(a).toMatch(/^b-[a-z2-7]+-[a-z2-7]{8}@bounces\.sender\.example$/);
    for (const back of [a, a.toUpperCase(), `<${a}>`]) {
      expect(decodeVerp(back, KEY, HOSTS)).toEqual({
        ok: true,
        recipientId: "msg-1.0",
        messageId: "msg-1",
        seq: 0,
        host: HOST,
      });
    }
  });

  it("round-trips any ULID-like message id and seq (property)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), fc.nat(9999), (id, seq) => {
        const d = decodeVerp(encodeVerp(recipientId(id, seq), HOST, KEY), KEY, HOSTS);
        return d.ok && d.messageId === id && d.seq === seq;
      }),
    );
  });

  it("rejects any single-character change of an issued address (property)", () => {
    const a = encodeVerp(RCPT_ID, HOST, KEY);
    const local = a.slice(0, a.indexOf("@"));
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: local.length - 1 }),
        fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz234567-"),
        (i, ch) => {
          if (local[i] === ch) return true;
          const tampered = `${local.slice(0, i)}${ch}${local.slice(i + 1)}${a.slice(a.indexOf("@"))}`;
          return !decodeVerp(tampered, KEY, HOSTS).ok;
        },
      ),
    );
  });

  it("rejects another key, another host, and addresses that are not VERP", () => {
    const a = encodeVerp(RCPT_ID, HOST, KEY);
    expect(decodeVerp(a, "other-key")).toEqual({ ok: false, why: "bad_signature" });
    expect(decodeVerp(a.replace(HOST, "bounces.other.example"), KEY)).toEqual({
      ok: false,
      why: "bad_signature",
    });
    expect(decodeVerp(a.replace(HOST, "bounces.other.example"), KEY, HOSTS)).toEqual({
      ok: false,
      why: "unknown_host",
    });
    expect(decodeVerp("postmaster@bounces.sender.example", KEY)).toEqual({ ok: false, why: "not_verp" });
    expect(decodeVerp("b-1-aaaaaaaa@x.example", KEY)).toEqual({ ok: false, why: "not_verp" });
  });

  it("accepts every key of a rotation and issues with the first", () => {
    const a = encodeVerp(RCPT_ID, HOST, ["new-key", "old-key"]);
    expect(a).toBe(encodeVerp(RCPT_ID, HOST, "new-key"));
    expect(decodeVerp(encodeVerp(RCPT_ID, HOST, "old-key"), ["new-key", "old-key"]).ok).toBe(true);
    expect(decodeVerp(a, ["old-key"]).ok).toBe(false);
  });

  it("a message's Return-Path round-trips its message id; neither form's mac verifies the other", () => {
    const messageId = "01JD2Q5ZB4K7M9XW3YV6T8N0PA";
    const address = encodeMessageVerp(messageId, HOST, KEY);
    expect(address.length - HOST.length - 1).toBeLessThanOrEqual(MAX_LOCAL_PART);
    expect(decodeReturnPath(address.toUpperCase(), KEY, HOSTS)).toEqual({
      ok: true,
      kind: "message",
      messageId,
      host: HOST,
    });
    expect(decodeReturnPath(address, "another-key", HOSTS)).toEqual({ ok: false, why: "bad_signature" });
    // The recipient form of the same text, its prefix swapped, does not verify as a message's.
    const swapped = encodeVerp(`${messageId}.3`, HOST, KEY).replace(/^b-/, "m-");
    expect(decodeReturnPath(swapped, KEY, HOSTS).ok).toBe(false);
    expect(decodeVerp(address, KEY, HOSTS).ok).toBe(false);
    // The recipient form still decodes through the same entry.
    expect(decodeReturnPath(RETURN_PATH, KEY, HOSTS)).toMatchObject({
      ok: true,
      kind: "recipient",
      recipientId: RCPT_ID,
    });
  });

  it("refuses a recipient id whose local part would exceed 64 octets (RFC 5321)", () => {
    expect(() => encodeVerp(recipientId("x".repeat(40), 1), HOST, KEY)).toThrow(RangeError);
    // 33 octets of recipient id is the most that fits: a 26-character ULID with seq up to 9999 is fine.
    const fits = encodeVerp(recipientId("x".repeat(28), 9999), HOST, KEY);
    expect(fits.indexOf("@")).toBe(MAX_LOCAL_PART);
    expect(() => encodeVerp(recipientId("x".repeat(29), 9999), HOST, KEY)).toThrow(RangeError);
  });
});
