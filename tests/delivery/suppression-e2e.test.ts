/**
 * The suppression list end to end (D8, S9) on the whole relay: `npm start` as a child process
 * (tests/cli/relay.ts) resolving through a real Knot DNS server and delivering to a real Postfix
 * (tests/delivery/postfix.ts), driven only through its public surfaces — the /v1 API over HTTP
 * with an API key of scope `suppressions:write`, and SMTP submission (STARTTLS + AUTH).
 *
 * An address added by hand is accepted at RCPT (`250`, S9: the rest of the message goes out) but
 * logged Rejected (reason `suppressed`) and never delivered; once removed, the next message to it
 * is Accepted and lands in the Postfix mailbox.
 *
 * Issue 15: Postfix refuses real recipients (an unknown user, a disabled mailbox, a Spamhaus
 * listing); Activity explains each decision in words, the two hard bounces' suppression entries
 * keep Postfix's reply, class and rule, and `petrel suppressions lift --class disabled` and
 * `POST /v1/suppressions/lift` by rule take away exactly the matching entries.
 */
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { petrel, type RunningRelay, startRelayProcess } from "../cli/relay.ts";
import { type DnsServer, requireDnsServer, startDnsServer, testZone } from "../dns/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Postfix, requirePostfix, startPostfix } from "./postfix.ts";

const available =
  requireDnsServer("suppression end to end (tests/delivery/suppression-e2e.test.ts)") &&
  requirePostfix("suppression end to end (tests/delivery/suppression-e2e.test.ts)");

const TOKEN = "suppression-e2e-operator-token-0123456789";
const ACCOUNT = "supp";
const SENDER = "shop.test";
const RCPT = "rcpt.test";
const ALICE = `alice@${RCPT}`;
/** A mailbox that Postfix's access table refuses as disabled, until the test clears it. */
const CAROL = `carol@${RCPT}`;

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field
type Json = any;

describe.skipIf(!available)("suppression list, end to end (D8, S9)", () => {
  let dns: DnsServer;
  let postfix: Postfix;
  let relay: RunningRelay;
  let key = "";
  let smtp: { username: string; password: string };

  const api = async (method: string, path: string, body?: unknown, token = key) => {
    const res = await fetch(`${relay.api}/v1${path}`, {
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
  const operator = (method: string, path: string, body?: unknown) => api(method, path, body, TOKEN);

  async function send(to: string, subject: string) {
    const t = nodemailer.createTransport({
      host: "127.0.0.1",
      port: submissionPort,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: smtp.username, pass: smtp.password },
    });
    try {
      return await t.sendMail({ from: `App <app@${SENDER}>`, to, subject, text: `This is ${subject}.` });
    } finally {
      t.close();
    }
  }

  let submissionPort = 0;

  beforeAll(async () => {
    dns = await startDnsServer({ zones: [testZone(RCPT, ["@ IN MX 10 mx", "mx IN A 127.0.0.1"])] });
    postfix = await startPostfix({ domains: [RCPT], users: [ALICE, CAROL] });
    relay = await startRelayProcess({
      PETREL_ADMIN_TOKEN: TOKEN,
      PETREL_HOSTNAME: "smtp.petrel.test",
      PETREL_DNS_SERVERS: dns.address,
      PETREL_SMTP_OUT_PORT: String(postfix.port),
    });
    submissionPort = relay.submissionPort;
    expect(
      (await operator("POST", "/admin/accounts", { name: "Supp", plan: "starter", accountId: ACCOUNT }))
        .status,
    ).toBe(201);
    expect((await operator("POST", `/admin/accounts/${ACCOUNT}/domains`, { domain: SENDER })).status).toBe(
      201,
    );
    const trusted = await operator("POST", `/admin/accounts/${ACCOUNT}/domains/${SENDER}/verify`, {
      trust: true,
    });
    expect(trusted.body.status).toBe("verified");
    const user = await operator("POST", `/admin/accounts/${ACCOUNT}/smtp-users`, { name: "app" });
    smtp = { username: user.body.username, password: user.body.password };
    const k = await operator("POST", `/admin/accounts/${ACCOUNT}/api-keys`, {
      scopes: ["suppressions:write", "activity:read"],
    });
    key = k.body.key;
  }, 240_000);

  afterAll(async () => {
    await relay?.stop();
    await postfix?.stop();
    await dns?.stop();
  });

  it("a manually suppressed address is accepted at RCPT, Rejected (suppressed), not delivered; removed, it is delivered again", async () => {
    const added = await api("POST", "/suppressions", { address: "Alice@RCPT.test", reason: "asked to stop" });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      address: "Alice@rcpt.test",
      source: "manual",
      reason: "asked to stop",
    });

    // S9: accepted at SMTP (250), so the rest of a message would still go out.
    const first = await send(ALICE, "first while suppressed");
    expect(first.accepted).toEqual([ALICE]);
    expect(first.response).toMatch(/^250 /);

    const removed = await api("DELETE", `/suppressions/${encodeURIComponent(ALICE)}`);
    expect(removed.status).toBe(204);
    expect((await api("GET", "/suppressions")).body.suppressions).toEqual([]);

    const second = await send(ALICE, "second after removal");
    expect(second.accepted).toEqual([ALICE]);

    const mail = await waitFor(
      async () => {
        const box = await postfix.mailbox(ALICE);
        return box.length > 0 ? box : undefined;
      },
      { what: "the second message in Postfix's mailbox", timeoutMs: 60_000 },
    );
    expect(mail).toHaveLength(1);
    expect(mail[0]).toContain("Subject: second after removal");

    // Activity (A1): the first message's only row is Rejected/suppressed; the second is delivered.
    const rows = await waitFor(
      async () => {
        const r = await api("GET", `/activity?view=events&recipient=${encodeURIComponent(ALICE)}&limit=100`);
        const list = (r.body?.rows ?? []) as { subject: string; status: string; reason: string }[];
        return list.some((x) => x.status === "Delivered") && list.some((x) => x.status === "Rejected")
          ? list
          : undefined;
      },
      { what: "activity rows of both messages", timeoutMs: 60_000 },
    );
    const firstRows = rows.filter((r) => r.subject === "first while suppressed");
    expect(firstRows.map((r) => [r.status, r.reason])).toEqual([["Rejected", "suppressed"]]);
    const secondRows = rows.filter((r) => r.subject === "second after removal").map((r) => r.status);
    expect(secondRows).toContain("Accepted");
    expect(secondRows).toContain("Delivered");
    // Still exactly one message in the mailbox: the suppressed one never went out.
    expect(await postfix.mailbox(ALICE)).toHaveLength(1);
  }, 180_000);

  it("petrel suppressions add | list | remove (O4 style: JSON out, non-zero exit and one line on failure)", async () => {
    const env = { PETREL_ADMIN_TOKEN: TOKEN, PETREL_HTTP_PORT: String(relay.httpPort) };
    const added = await petrel(
      ["suppressions", "add", "--account", ACCOUNT, "--address", "Bob@RCPT.test", "--reason", "by cli"],
      env,
    );
    expect(added.code).toBe(0);
    expect(added.json()).toMatchObject({ address: "Bob@rcpt.test", source: "manual", reason: "by cli" });
    const listed = await petrel(["suppressions", "list", "--account", ACCOUNT, "--limit", "10"], env);
    expect(listed.code).toBe(0);
    expect(listed.json().suppressions.map((s: { address: string }) => s.address)).toEqual(["Bob@rcpt.test"]);
    const removed = await petrel(
      ["suppressions", "remove", "--account", ACCOUNT, "--address", "bob@rcpt.test"],
      env,
    );
    expect(removed.code).toBe(0);
    expect(removed.json()).toEqual({ removed: "bob@rcpt.test" });
    const again = await petrel(
      ["suppressions", "remove", "--account", ACCOUNT, "--address", "bob@rcpt.test"],
      env,
    );
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("not on the suppression list");
    const bad = await petrel(["suppressions", "add", "--account", ACCOUNT, "--address", "nope"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("address");
  }, 120_000);

  it("explains each bounce in Activity; suppression entries keep the reply, class and rule; lifted in bulk by class (CLI) and rule (API)", async () => {
    const GHOST = `ghost@${RCPT}`; // not a mailbox: Postfix's own 550 5.1.1 User unknown
    const DAVE = `dave@${RCPT}`;
    await postfix.setAccess({
      [CAROL]: "550 5.2.1 Mailbox disabled, not accepting messages",
      [DAVE]: "554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org",
    });
    const sent = await send(`${GHOST}, ${CAROL}, ${DAVE}`, "three refusals");
    expect(sent.accepted.sort()).toEqual([CAROL, DAVE, GHOST]);

    // Activity (recipient view): each failure with the class and the rule's words.
    const rows = await waitFor(
      async () => {
        const r = await api("GET", `/activity?subject=${encodeURIComponent("three refusals")}&limit=100`);
        const list = (r.body?.rows ?? []) as {
          recipient: string;
          status: string;
          explanation: string;
          class: string;
        }[];
        const done = list.filter((x) => ["HardBounce", "SoftBounce"].includes(x.status));
        return done.length === 3 ? Object.fromEntries(done.map((x) => [x.recipient, x])) : undefined;
      },
      { what: "three bounces in Activity", timeoutMs: 90_000 },
    );
    expect(rows[GHOST]).toMatchObject({ status: "HardBounce", class: "unknown_user" });
    expect(rows[GHOST]?.explanation).toMatch(/^Hard bounce — unknown user \(.+\)$/);
    expect(rows[CAROL]).toMatchObject({ status: "HardBounce", class: "disabled" });
    expect(rows[CAROL]?.explanation).toMatch(/^Hard bounce — disabled mailbox \(.+\)$/);
    expect(rows[DAVE]).toMatchObject({ status: "SoftBounce", class: "blocklist" });
    expect(rows[DAVE]?.explanation).toMatch(/^Soft bounce — blocklisted \(.+\)$/);

    // D8: the two hard bounces are suppressed with Postfix's reply, class and rule; the blocklisted one is not.
    const entries = await waitFor(
      async () => {
        const list = (await api("GET", "/suppressions")).body.suppressions as Json[];
        return list.length === 2 ? Object.fromEntries(list.map((e) => [e.address, e])) : undefined;
      },
      { what: "two hard bounces on the suppression list", timeoutMs: 60_000 },
    );
    expect(entries[GHOST]).toMatchObject({
      source: "hard_bounce",
      reason: "unknown_user",
      class: "unknown_user",
    });
    expect(entries[GHOST].remoteReply).toMatch(/^550 5\.1\.1 .*User unknown/);
    expect(entries[GHOST].explanation).toBe(rows[GHOST]?.explanation);
    expect(entries[CAROL]).toMatchObject({
      source: "hard_bounce",
      reason: "mailbox_disabled",
      class: "disabled",
    });
    expect(entries[CAROL].remoteReply).toMatch(/^550 5\.2\.1 .*Mailbox disabled, not accepting messages/);
    expect(typeof entries[CAROL].rule).toBe("string");

    // The operator lifts by class through the CLI: a dry run counts, the real one removes carol only.
    const env = { PETREL_ADMIN_TOKEN: TOKEN, PETREL_HTTP_PORT: String(relay.httpPort) };
    const dry = await petrel(
      ["suppressions", "lift", "--account", ACCOUNT, "--class", "disabled", "--dry-run"],
      env,
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toEqual({ lifted: 1, dryRun: true });
    const lifted = await petrel(["suppressions", "lift", "--account", ACCOUNT, "--class", "disabled"], env);
    expect(lifted.json()).toEqual({ lifted: 1, dryRun: false });
    expect((await api("GET", "/suppressions")).body.suppressions.map((e: Json) => e.address)).toEqual([
      GHOST,
    ]);
    const bad = await petrel(["suppressions", "lift", "--account", ACCOUNT, "--class", "spam"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("class");

    // Lifted, carol is tried again (Accepted, not Rejected as suppressed); ghost still is suppressed.
    await postfix.setAccess({});
    await send(`${CAROL}, ${GHOST}`, "after the lift");
    const after = await waitFor(
      async () => {
        const r = await api(
          "GET",
          `/activity?view=events&subject=${encodeURIComponent("after the lift")}&limit=100`,
        );
        const list = (r.body?.rows ?? []) as { recipient: string; status: string; reason: string }[];
        return list.some((x) => x.recipient === CAROL && x.status === "Delivered") &&
          list.some((x) => x.recipient === GHOST && x.status === "Rejected")
          ? list
          : undefined;
      },
      { what: "carol delivered and ghost rejected after the lift", timeoutMs: 60_000 },
    );
    expect(after.filter((x) => x.recipient === GHOST).map((x) => [x.status, x.reason])).toEqual([
      ["Rejected", "suppressed"],
    ]);

    // The customer lifts by rule through the API (its key, its account).
    const byRule = await api("POST", "/suppressions/lift", { rule: entries[GHOST].rule });
    expect(byRule.status).toBe(200);
    expect(byRule.body).toEqual({ lifted: 1, dryRun: false });
    expect((await api("GET", "/suppressions")).body.suppressions).toEqual([]);
  }, 240_000);
});
