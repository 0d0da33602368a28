/**
 * Bounce classification (D6, seed 003) against every labelled reply of the shared corpus
 * (`../shared/bounce-corpus/replies.tsv`, 170 rows) and a literal table of seed 003's causes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type BounceResult,
  classify,
  classifyReply,
  classifyTransport,
  expire,
  explain,
  isSuppressible,
} from "../../shared/bounce/classify.ts";
import { parseReply } from "../../shared/bounce/reply.ts";
import { BOUNCE_KINDS, KINDS, PHASES, type Phase, RULES } from "../../shared/bounce/rules.ts";
import { StatusReason } from "../../shared/model/status.ts";
import { CORPUS_DIR } from "./corpus-dir.ts";

const CORPUS = join(CORPUS_DIR, "replies.tsv");

interface Row {
  id: string;
  phase: Phase;
  label: BounceResult;
  kind: string;
  provider: string;
  reply: string;
  note: string;
}

function readCorpus(): Row[] {
  const [header, ...lines] = readFileSync(CORPUS, "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
  expect(header?.split("\t").slice(0, 6)).toEqual(["id", "phase", "label", "kind", "provider", "reply"]);
  return lines.map((line) => {
    const [id, phase, label, kind, provider, reply, , note] = line.split("\t");
    if (!PHASES.includes(phase as Phase)) throw new Error(`row ${id}: phase ${phase}`);
    if (!["defer", "soft", "hard"].includes(label ?? "")) throw new Error(`row ${id}: label ${label}`);
    return {
      id: id!,
      phase: phase as Phase,
      label: label as BounceResult,
      kind: kind!,
      provider: provider!,
      reply: reply!.replaceAll("\\n", "\n"),
      note: note ?? "",
    };
  });
}

const rows = readCorpus();

describe("bounce corpus (D6): the classification agrees with every labelled reply", () => {
  it("holds the 170 rows the README describes", () => {
    expect(rows).toHaveLength(170);
    expect(new Set(rows.map((r) => r.id)).size).toBe(170);
  });

  it.each(rows)("$id $phase $label/$kind ($provider): $reply", (row) => {
    const c = classifyReply(row.reply, row.phase);
    expect({ result: c.result, kind: c.kind }, `rule ${c.rule}; ${row.note}`).toEqual({
      result: row.label,
      kind: row.kind,
    });
    expect(isSuppressible(c)).toBe(row.label === "hard");
  });
});

describe("seed 003 causes", () => {
  const table: [cause: string, reply: string, phase: Phase, expected: BounceResult, suppress: boolean][] = [
    ["mailbox full", "552 5.2.2 <ann@example.org>: Mailbox full", "RCPT", "soft", false],
    ["mailbox full, said as 4xx first", "452 4.2.2 Mailbox full, try again later", "RCPT", "defer", false],
    ["spam block", "550 5.7.1 Message rejected as spam", "DATA", "soft", false],
    [
      "spam block by a blocklist",
      "554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org",
      "RCPT",
      "soft",
      false,
    ],
    [
      "DNS not found temporarily",
      "450 4.1.2 <ann@example.org>: Recipient address rejected: Domain not found",
      "RCPT",
      "defer",
      false,
    ],
    [
      "unknown user",
      "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown",
      "RCPT",
      "hard",
      true,
    ],
    ["unknown domain", "550 5.1.2 <ann@no-such-domain.example>: Domain not found", "RCPT", "hard", true],
  ];
  it.each(table)("%s: %s → %s", (_cause, reply, phase, expected, suppress) => {
    const c = classifyReply(reply, phase);
    expect(c.result).toBe(expected);
    expect(isSuppressible(c)).toBe(suppress);
  });

  it("DNS not found temporarily: deferred while retrying, soft bounce once the retry period is over", () => {
    const c = classifyTransport("dns_temporary");
    expect(c).toMatchObject({ result: "defer", kind: "dns", reason: "dns_temporary" });
    expect(expire(c)).toMatchObject({ result: "soft", kind: "dns", reason: "dns_temporary" });
    expect(isSuppressible(expire(c))).toBe(false);
  });

  it("unknown domain from DNS (NXDOMAIN) and null MX (RFC 7505) are hard; connection failures defer", () => {
    expect(classifyTransport("nxdomain")).toMatchObject({ result: "hard", reason: "unknown_domain" });
    expect(classifyTransport("null_mx")).toMatchObject({ result: "hard", reason: "null_mx" });
    expect(classifyTransport("no_mail_host")).toMatchObject({ result: "hard", reason: "unknown_domain" });
    expect(classifyTransport("connection_failed")).toMatchObject({
      result: "defer",
      reason: "connection_failed",
    });
  });

  it("DKIM keys unavailable on our side: deferred (never sent unsigned), soft once expired, never suppresses (D3)", () => {
    const c = classifyTransport("signing_unavailable");
    expect(c).toMatchObject({ result: "defer", reason: "sender_authentication" });
    expect(expire(c)).toMatchObject({ result: "soft", reason: "sender_authentication" });
    expect(isSuppressible(expire(c))).toBe(false);
  });

  it("an internationalized recipient the MX cannot take (553 5.6.7, RFC 6531) is soft, never suppresses", () => {
    const c = classifyReply(
      "553 5.6.7 Internationalized recipient needs SMTPUTF8, which mx.example.com does not offer (RFC 6531)",
      "RCPT",
    );
    expect(c).toMatchObject({ result: "soft", reason: "message_rejected" });
    expect(isSuppressible(c)).toBe(false);
  });

  it("a remote that gave up after 4xx (DSN Action: failed, Status 4.4.3) is soft, never hard", () => {
    const c = classify({
      enhanced: "4.4.3",
      text: "Host or domain name not found. Name service error, try again",
    });
    expect(c.result).toBe("defer");
    expect(expire(c).result).toBe("soft");
    expect(expire(classifyReply("550 5.1.1 User unknown")).result).toBe("hard");
  });
});

describe("classification invariants", () => {
  it("a 4xx is always defer, whatever the text says", () => {
    for (const text of ["User unknown", "No such user", "Mailbox full", "Relay access denied", "x"]) {
      expect(classifyReply(`450 4.1.1 ${text}`, "RCPT").result).toBe("defer");
    }
  });

  it("nothing at the greeting or MAIL FROM is hard (the server has not seen the recipient)", () => {
    expect(classifyReply("550 5.1.1 User unknown", "MAIL").result).toBe("soft");
    expect(classifyReply("554 No SMTP service here", "CONNECT")).toMatchObject({
      result: "soft",
      kind: "blocklist",
    });
    expect(classifyReply("550 5.1.1 User unknown", "RCPT").result).toBe("hard");
  });

  it("a sender-side failure never suppresses, even with an address-looking code", () => {
    const sender = [
      "550 5.1.8 <bounce@petrel.test>: Sender address rejected: Domain not found",
      "550 5.1.0 <bounce@petrel.test> sender rejected. AUP#CDRBL",
      "550 5.2.1 Mailbox unavailable. Your IP address 192.0.2.1 is blacklisted using SPAMHAUS-XBL.",
    ];
    for (const r of sender) expect(isSuppressible(classifyReply(r, "RCPT")), r).toBe(false);
  });

  it("every kind has a reason in the closed StatusReason set, and every rule a known kind", () => {
    for (const k of BOUNCE_KINDS) expect(StatusReason.safeParse(KINDS[k].reason).success, k).toBe(true);
    for (const r of RULES) expect(BOUNCE_KINDS).toContain(r.kind);
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    expect(RULES.at(-1)).toMatchObject({ id: "other", kind: "other" });
    expect(RULES.at(-1)).not.toHaveProperty("text");
    for (const r of RULES) expect(r.source.length, r.id).toBeGreaterThan(0);
  });
});

describe("issue 15: the kinds of miss seen on unseen replies", () => {
  const soft: [why: string, reply: string][] = [
    [
      "5.1.x, the text says preference",
      "550 5.1.1 Recipient address rejected: refused due to the recipient's preferences",
    ],
    ["5.1.x, the text says spam listing", "550 5.1.0 Message rejected: sender listed on a spam list"],
    ["5.1.x, the text says policy", "550 5.1.1 <x@example.org>: rejected by local policy"],
    ["5.1.x, the text says spam", "550 5.1.1 Your message looks like spam"],
    [
      "relaying denied, the IP is listed",
      "553 5.7.1 Relaying denied: your IP 192.0.2.1 is listed at bl.spamcop.net",
    ],
    ["too many unknown recipients", "550 5.1.1 Too many unknown recipients from your IP, try later"],
    [
      "reputation phrased around the recipient",
      "550 5.1.1 Recipient rejected: sender IP has a poor reputation",
    ],
    ["the sender's domain does not exist", "550 5.1.2 Domain of sender address does not exist"],
    [
      "mailbox unavailable because of a blocklist",
      "550 5.1.1 Mailbox unavailable: your IP is on our blocklist",
    ],
    ["a weak address phrase with a policy code", "554 5.7.1 Mailbox unavailable"],
    ["a weak address phrase with a policy code", "550 5.7.1 Recipient address rejected: Access denied"],
    ["unknown user and a rate limit", "550 5.1.1 User unknown; rate limit exceeded, slow down"],
    ["DMARC under 5.1.1", "550 5.1.1 DMARC policy of example.com rejects this message"],
  ];
  it.each(soft)("%s is never hard: %s", (_why, reply) => {
    expect(classifyReply(reply, "RCPT").result).toBe("soft");
  });

  const hard: [why: string, reply: string][] = [
    ["'does not exist' with 5.1.1", "550 5.1.1 The address does not exist"],
    ["'not a registered user' under 551", "551 User is not a registered user"],
    ["'account is blocked' under 553", "553 Account is blocked"],
    ["bad address syntax under 501", "501 5.1.3 Invalid recipient address"],
    ["'no longer valid'", "550 Recipient address no longer valid"],
    ["French", "550 L'adresse n'existe pas"],
    ["German", "550 Der Empfänger ist unbekannt"],
    ["Spanish", "550 El buzón no existe"],
    ["Italian", "550 Il destinatario non esiste"],
    [
      "Exchange Online directory-based edge blocking (5.4.1)",
      "550 5.4.1 Recipient address rejected: Access denied",
    ],
  ];
  it.each(hard)("%s is hard: %s", (_why, reply) => {
    expect(classifyReply(reply, "RCPT").result).toBe("hard");
  });

  it("a report with no code at all and address words is hard", () => {
    expect(classify({ text: "Recipient address no longer valid" }).result).toBe("hard");
  });

  it("explains the decision with the class and what the rule saw", () => {
    const c = classifyReply(
      "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
      "RCPT",
    );
    expect(explain(c)).toBe("Soft bounce — blocklisted (the sending IP or domain is on a blocklist)");
    expect(c).toMatchObject({ class: "blocklist", rule: "blocklist" });
    expect(explain(classifyReply("550 5.1.1 User unknown", "RCPT"))).toBe(
      "Hard bounce — unknown user (the address does not exist)",
    );
  });
});

describe("parseReply", () => {
  it.each([
    ["550 5.1.1 User unknown", { code: 550, enhanced: "5.1.1", text: "User unknown" }],
    [
      "550-5.1.1 The email account\n550-5.1.1 does not exist.\n550 5.1.1  https://x - gsmtp",
      { code: 550, enhanced: "5.1.1", text: "The email account does not exist. https://x - gsmtp" },
    ],
    ["550 #5.1.0 Address rejected.", { code: 550, enhanced: "5.1.0", text: "#5.1.0 Address rejected." }],
    ["552 1 Requested mail action aborted", { code: 552, text: "1 Requested mail action aborted" }],
    ["554 30 Sorry (554.30)", { code: 554, text: "30 Sorry (554.30)" }],
    ["421 4.7.0 [TSS04] from 192.0.2.1 - 4.16.55.1; see", { code: 421, enhanced: "4.7.0" }],
    ["553 sorry, not in rcpthosts (#5.7.1)", { code: 553, enhanced: "5.7.1" }],
    ["550 Denied\r\n", { code: 550, text: "Denied" }],
  ])("%j", (raw, expected) => {
    expect(parseReply(raw)).toMatchObject(expected);
  });

  it("finds no enhanced code inside an IP address", () => {
    expect(parseReply("550 Mail from 192.0.2.22 refused").enhanced).toBeUndefined();
  });
});
