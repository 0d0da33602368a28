/**
 * The pure pieces of ingress against literal tables (STYLE): address syntax (S9), sender domain
 * (S7), counts and sizes (S5, S6), sandbox (S14), attachments (S10), line ends (S13), the pre-TLS
 * gate (S1), the brute-force throttle (S3), session leases (S4), message ids (S12), and the local
 * content store's all-or-nothing write (S11).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { decideSession, liveLeases } from "../../actors/account/sessions.ts";
import { type ClientState, isBlocked, recordFailure } from "../../actors/client/behavior.ts";
import { attachmentAllowed } from "../../ingress/attachments.ts";
import { commandName, preTlsVerdict, rewriteBuiltin } from "../../ingress/harden.ts";
import { newMessageId } from "../../ingress/ids.ts";
import { hasEightBit, normalizeLineEnds } from "../../ingress/lines.ts";
import {
  declaredSizeVerdict,
  headerFromDomain,
  headerFromDomains,
  isSandbox,
  parseMailbox,
  recipientCountVerdict,
  senderVerdict,
} from "../../ingress/policy.ts";
import { LocalContentStore } from "../../shared/content/local.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("parseMailbox (S9)", () => {
  it.each([
    ["bob@example.net", false, "bob@example.net"],
    ["Bob.Smith+tag@Example.NET", false, "Bob.Smith+tag@example.net"],
    ["josé@example.net", true, "josé@example.net"],
    ["a@bücher.example", true, "a@bücher.example"],
  ])("%s (smtputf8 %s) → %s", (input, utf8, address) => {
    expect(parseMailbox(input, utf8)).toMatchObject({ address });
  });
  it.each([
    ["", false, null],
    ["no-at-sign", false, null],
    ["@example.net", false, null],
    ["bob@", false, null],
    ["a..b@example.net", false, null],
    [".a@example.net", false, null],
    ["bob@localhost", false, null],
    ["bob@-bad.example", false, null],
    ["bob@exa_mple.net", false, null],
    [`${"x".repeat(65)}@example.net`, false, null],
    ["josé@example.net", false, "utf8"],
  ])("%s (smtputf8 %s) → %s", (input, utf8, verdict) => {
    expect(parseMailbox(input, utf8)).toBe(verdict);
  });
});

describe("senderVerdict (S7)", () => {
  const acct = { sendingAllowed: true, verifiedDomains: ["shop.example"] };
  it.each([
    [acct, "shop.example", null],
    [acct, "SHOP.example", null],
    [acct, "other.example", "550 5.7.1 Sender domain other.example is not authenticated"],
    [{ ...acct, sendingAllowed: false }, "shop.example", "550 5.7.1 Sending is not enabled for this account"],
    [undefined, "shop.example", "550 5.7.1 Sending is not enabled for this account"],
  ])("%j from %s → %s", (a, d, reply) => {
    expect(senderVerdict(a, d)?.error.reply ?? null).toBe(reply);
  });
});

describe("counts, sizes, sandbox, header From", () => {
  it.each([
    [0, 50, null],
    [49, 50, null],
    [50, 50, "452 4.5.3 Too many recipients"],
  ])("recipient %i of max %i → %s", (n, max, reply) => {
    expect(recipientCountVerdict(n, max)?.error.reply ?? null).toBe(reply);
  });
  it.each([
    [undefined, null],
    [20971520, null],
    [20971521, "552 5.3.4 Message size exceeds fixed maximum message size"],
  ])("SIZE=%s → %s", (size, reply) => {
    expect(declaredSizeVerdict(size, 20971520)?.reply ?? null).toBe(reply);
  });
  it.each([
    ["sandbox.petrel.test", true],
    ["x.sandbox.petrel.test", true],
    ["notsandbox.petrel.test", false],
    ["example.net", false],
  ])("sandbox %s → %s", (d, v) => {
    expect(isSandbox(d, "sandbox.petrel.test")).toBe(v);
  });
  it.each([
    ["app@shop.example", "shop.example"],
    ['"Shop" <app@Shop.Example>', "shop.example"],
    ["Shop <app@shop.example> (comment)", "shop.example"],
    ["undisclosed", null],
  ])("From: %s → %s", (v, d) => {
    expect(headerFromDomain(v)).toBe(d);
  });

  it.each([
    [["app@shop.example"], ["shop.example"]],
    [['"Shop, Inc." <app@Shop.example>, ops@shop.example'], ["shop.example"]],
    [["a@shop.example, Boss <ceo@evil.example>"], ["shop.example", "evil.example"]],
    [
      ["a@shop.example", "ceo@evil.example"],
      ["shop.example", "evil.example"],
    ],
    [["Team: a@shop.example, b@evil.example;"], ["shop.example", "evil.example"]],
    [['"a@evil.example" <a@shop.example> (x, y@z.example)'], ["shop.example"]],
    [[], null],
    [[""], null],
    [["undisclosed-senders:;"], null],
    [["a@shop.example, undisclosed"], null],
  ])("S7 every From address: %j → %j", (values, domains) => {
    expect(headerFromDomains(values)).toEqual(domains);
  });
});

describe("attachmentAllowed (S10)", () => {
  it.each([
    ["invoice.pdf", "application/pdf", true],
    ["report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", true],
    ["photo.JPG", "image/jpeg", true],
    ["data.csv", "text/csv", true],
    ["meeting.ics", "text/calendar", true],
    ["archive.zip", "application/zip", true],
    ["", "image/png", true],
    ["setup.exe", "application/octet-stream", false],
    ["script.js", "text/plain", false],
    ["invoice.pdf.exe", "application/pdf", false],
    ["run.PS1", "text/plain", false],
    ["tool.jar", "application/java-archive", false],
    ["x.msi", "application/octet-stream", false],
    ["notes.txt", "application/x-msdownload", false],
    ["weird.xyz", "application/octet-stream", false],
  ])("%s (%s) → %s", (name, type, ok) => {
    expect(attachmentAllowed(name, type)).toBe(ok);
  });
});

describe("normalizeLineEnds (S13)", () => {
  it.each([
    ["a\r\nb", "a\r\nb"],
    ["a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"],
    ["a\r\nb\n\r\n", "a\r\nb\r\n\r\n"],
    ["a\r\n\rb", "a\r\n\r\nb"],
    ["a\nb", "a\r\nb"],
    ["a\rb", "a\r\nb"],
    ["a\n.\nb", "a\r\n.\r\nb"],
    ["a\r.\rb", "a\r\n.\r\nb"],
    ["a\r\r\nb", "a\r\n\r\nb"],
  ])("%j → %j", (input, out) => {
    expect(normalizeLineEnds(Buffer.from(input), false).out.toString()).toBe(out);
  });
  it("keeps a CR split across chunks as one line end", () => {
    const a = normalizeLineEnds(Buffer.from("a\r"), false);
    const b = normalizeLineEnds(Buffer.from("\nb"), a.pendingCr);
    expect(a.out.toString() + b.out.toString()).toBe("a\r\nb");
  });
});

describe("hasEightBit (the record's 8-bit flag)", () => {
  it.each([
    ["", false],
    ["plain ascii\r\n", false],
    ["\x7f del is ascii", false],
    ["caf\u00e9", true],
    [`${"x".repeat(4096)}\u00ff`, true],
    [`\u0080${"x".repeat(63)}`, true],
  ])("%j → %s", (text, eight) => {
    expect(hasEightBit(Buffer.from(text, "latin1"))).toBe(eight);
  });
});

describe("pre-TLS gate and built-in replies (S1, S6, S9)", () => {
  it.each([
    ["EHLO", false, null],
    ["STARTTLS", false, null],
    ["QUIT", false, null],
    ["AUTH", false, "530 5.7.0 Must issue a STARTTLS command first"],
    ["MAIL", false, "530 5.7.0 Must issue a STARTTLS command first"],
    ["DATA", false, "530 5.7.0 Must issue a STARTTLS command first"],
    ["MAIL", true, null],
  ])("%s (secure %s) → %s", (cmd, secure, reply) => {
    expect(preTlsVerdict(cmd, secure)?.reply ?? null).toBe(reply);
  });
  it("reads command names", () => {
    expect(commandName(Buffer.from("mail FROM:<a@b.c>"))).toBe("MAIL");
    expect(commandName(Buffer.from("  "))).toBe("");
  });
  it("rewrites smtp-server's size and address replies", () => {
    expect(rewriteBuiltin(552, "Error: message exceeds fixed maximum message size 10")?.reply).toBe(
      "552 5.3.4 Message size exceeds fixed maximum message size",
    );
    expect(rewriteBuiltin(501, "Error: Bad recipient address syntax")?.reply).toBe(
      "501 5.1.3 Bad recipient address syntax",
    );
    expect(rewriteBuiltin(250, "OK")).toBeNull();
  });
});

describe("brute-force policy (S3, one client IP actor's state)", () => {
  const fresh = (): ClientState => ({ leases: {}, failures: [], blockedUntil: 0 });
  it("blocks on the 5th failure within the window, for the block period", () => {
    const p = { maxFailures: 5, windowMs: 1_000, blockMs: 5_000 };
    let ip = fresh();
    for (let i = 0; i < 4; i++) {
      const r = recordFailure(ip, i, p);
      expect(r.started).toBe(false);
      ip = r.state;
    }
    expect(isBlocked(ip, 10)).toBe(false);
    const r = recordFailure(ip, 10, p);
    expect(r.started).toBe(true);
    expect(isBlocked(r.state, 11)).toBe(true);
    expect(isBlocked(fresh(), 11)).toBe(false); // another IP is another actor
    expect(isBlocked(r.state, 5_010)).toBe(false);
  });
  it("forgets failures older than the window", () => {
    const p = { maxFailures: 3, windowMs: 100, blockMs: 1_000 };
    const a = recordFailure(fresh(), 0, p).state;
    const b = recordFailure(a, 50, p).state;
    expect(recordFailure(b, 200, p).started).toBe(false);
  });
});

describe("session leases (S4)", () => {
  const live = liveLeases(
    {
      a: { username: "u1", expiresAt: 100 },
      b: { username: "u1", expiresAt: 50 },
      c: { username: "u2", expiresAt: 200 },
    },
    60,
  );
  it("drops lapsed leases", () => {
    expect(Object.keys(live).sort()).toEqual(["a", "c"]);
  });
  it.each([
    ["u1", 2, 5, { granted: true, userSessions: 2, accountSessions: 3 }],
    ["u1", 1, 5, { granted: false, refusedBy: "user", userSessions: 1, accountSessions: 2 }],
    ["u3", 5, 2, { granted: false, refusedBy: "account", userSessions: 0, accountSessions: 2 }],
  ])("%s with user max %i, account max %i", (u, mu, ma, out) => {
    expect(decideSession(live, u, mu, ma)).toEqual(out);
  });
});

describe("message ids (S12, VERP)", () => {
  it("are 26 Crockford base32 characters and sort by time", () => {
    const a = newMessageId(1_000);
    const b = newMessageId(2_000);
    expect(a).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a < b).toBe(true);
    expect(`${a}.49`.length).toBeLessThanOrEqual(33);
  });
});

describe("LocalContentStore (S11)", () => {
  it("stores durably and leaves nothing behind a failed write", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-content-"));
    dirs.push(dir);
    const store = await LocalContentStore.open(dir);
    const ok = await store.put(Readable.from([Buffer.from("hello "), Buffer.from("world")]), {
      messageId: "MSG0001",
    });
    expect(ok.size).toBe(11);
    expect(ok.ref).toMatch(/^MSG0001_/); // a small message: an entry in the segment log
    let text = "";
    for await (const c of await store.get(ok.ref)) text += c.toString();
    expect(text).toBe("hello world");
    async function* failing() {
      yield Buffer.from("partial");
      throw new Error("client went away");
    }
    await expect(store.put(failing(), { messageId: "MSG0002" })).rejects.toThrow("client went away");
    expect(await store.list()).toEqual([ok.ref]);
    expect(readdirSync(join(dir, "tmp"))).toEqual([]);
    await expect(store.get("MSG0002")).rejects.toThrow(/no stored content/);
    await store.delete(ok.ref);
    expect(await store.list()).toEqual([]);
  });
});
