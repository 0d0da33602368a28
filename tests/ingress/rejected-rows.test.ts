/**
 * Issue 14 point 6 end to end: a Rejected row keeps what the session knew, read back from Activity
 * through the API (`npm start` as a child process, tests/cli/relay.ts; raw SMTP over a real socket).
 * - DATA: an attachment refusal, a From header on an unverified domain and an oversized message keep
 *   the subject, the From header (the header, not the envelope sender) and every recipient;
 * - RCPT: the refused recipient is on its row;
 * - MAIL: with pipelining, the recipients sent after the refused MAIL FROM; without any, one row whose
 *   recipient is empty (the Activity page says none was given).
 * No mail leaves the relay (every recipient is refused or the message is), and the resolver is a
 * closed loopback port.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRelay, startRelayProcess } from "../cli/relay.ts";
import { freePort } from "../helpers/ports.ts";
import { waitFor } from "../helpers/wait.ts";
import { RawClient } from "./harness.ts";

const TOKEN = "rejected-rows-operator-token-0123456789";
const ACCOUNT = "rows";
const SHOP = "shop.test";
const MAX = 200_000;
let relay: RunningRelay;
let smtp = { username: "", password: "" };

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${relay.api}/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  relay = await startRelayProcess({
    PETREL_ADMIN_TOKEN: TOKEN,
    PETREL_HOSTNAME: "smtp.petrel.test",
    PETREL_DNS_SERVERS: `127.0.0.1:${await freePort()}`,
    PETREL_SMTP_MAX_MESSAGE_BYTES: String(MAX),
  });
  expect(
    (await api("POST", "/admin/accounts", { name: "Rows", accountId: ACCOUNT, plan: "starter" })).status,
  ).toBe(201);
  expect((await api("POST", `/admin/accounts/${ACCOUNT}/domains`, { domain: SHOP })).status).toBe(201);
  const v = await api("POST", `/admin/accounts/${ACCOUNT}/domains/${SHOP}/verify`, { trust: true });
  expect(v.body.status).toBe("verified");
  const user = await api("POST", `/admin/accounts/${ACCOUNT}/smtp-users`, { name: "app" });
  expect(user.status).toBe(201);
  smtp = { username: user.body.username, password: user.body.password };
}, 240_000);
afterAll(async () => {
  await relay?.stop();
});

async function session(): Promise<RawClient> {
  const c = await RawClient.connect(relay.submissionPort);
  await c.reply();
  await c.cmd("EHLO client.test");
  await c.starttls();
  await c.cmd("EHLO client.test");
  const r = await c.cmd(
    `AUTH PLAIN ${Buffer.from(`\0${smtp.username}\0${smtp.password}`).toString("base64")}`,
  );
  expect(r).toMatch(/^235 /);
  return c;
}

interface Row {
  status: string;
  recipient: string;
  subject: string;
  sender: string;
  headerFrom: string;
  reason: string;
  remoteReply: string;
}

/** The account's Rejected rows matching `query` (recipient view), once `n` of them are there. */
async function rejectedRows(query: Record<string, string>, n: number): Promise<Row[]> {
  const q = new URLSearchParams({ status: "Rejected", limit: "100", ...query });
  return waitFor(
    async () => {
      const r = await api("GET", `/admin/accounts/${ACCOUNT}/activity?${q}`);
      const rows = (r.body?.rows ?? []) as Row[];
      return rows.length >= n ? rows.sort((a, b) => (a.recipient < b.recipient ? -1 : 1)) : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${n} Rejected row(s) for ${q}` },
  );
}

/** MAIL, the RCPTs (each accepted), DATA, `message`: the reply to the end of DATA. */
async function submit(c: RawClient, rcpts: string[], message: string): Promise<string> {
  expect(await c.cmd(`MAIL FROM:<app@${SHOP}>`)).toBe("250 2.1.0 Accepted");
  for (const r of rcpts) expect(await c.cmd(`RCPT TO:<${r}>`)).toBe("250 2.1.5 Accepted");
  expect(await c.cmd("DATA")).toMatch(/^354 /);
  return c.cmd(`${message}\r\n.`);
}

describe("Rejected rows keep subject, From header and recipient (issue 14 point 6)", () => {
  it("DATA, attachment refused: every recipient's row has the subject and the From header", async () => {
    const c = await session();
    const reply = await submit(
      c,
      ["ann@att.test", "bob@att.test"],
      [
        "From: Shop <app@shop.test>",
        "Subject: Invoice 7",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b"',
        "",
        "--b",
        "Content-Type: text/plain",
        "",
        "See attached.",
        "--b",
        'Content-Type: application/octet-stream; name="setup.exe"',
        'Content-Disposition: attachment; filename="setup.exe"',
        "Content-Transfer-Encoding: base64",
        "",
        "TVqQAAMAAAAEAAAA",
        "--b--",
      ].join("\r\n"),
    );
    expect(reply).toBe("554 5.7.1 Attachment type not allowed: setup.exe");
    c.close();
    const rows = await rejectedRows({ sender: `app@${SHOP}`, subject: "Invoice 7" }, 2);
    expect(rows.map((r) => [r.recipient, r.subject, r.headerFrom, r.sender])).toEqual([
      ["ann@att.test", "Invoice 7", "Shop <app@shop.test>", "app@shop.test"],
      ["bob@att.test", "Invoice 7", "Shop <app@shop.test>", "app@shop.test"],
    ]);
    expect(rows[0]!.remoteReply).toBe("554 5.7.1 Attachment type not allowed: setup.exe");
  });

  it("DATA, From header on an unverified domain: the row shows that From header, not the envelope sender", async () => {
    const c = await session();
    const reply = await submit(
      c,
      ["carol@hdr.test"],
      "From: Boss <ceo@evil.test>\r\nSubject: Wire transfer\r\n\r\nPay now.",
    );
    expect(reply).toBe("550 5.7.1 Sender domain evil.test is not authenticated");
    c.close();
    const [row] = await rejectedRows({ recipient: "carol@hdr.test" }, 1);
    expect(row).toMatchObject({
      recipient: "carol@hdr.test",
      subject: "Wire transfer",
      headerFrom: "Boss <ceo@evil.test>",
      sender: "app@shop.test",
      reason: "sender_domain_not_authenticated",
    });
  });

  it("DATA, message too large: the rows keep the subject and the From header read before the limit", async () => {
    const c = await session();
    const body = `${"x".repeat(998)}\r\n`.repeat(Math.ceil((MAX * 2) / 1000));
    const reply = await submit(
      c,
      ["dan@size.test"],
      `From: Shop <app@shop.test>\r\nSubject: Big report\r\n\r\n${body}`,
    );
    expect(reply).toBe("552 5.3.4 Message size exceeds fixed maximum message size");
    c.close();
    const [row] = await rejectedRows({ recipient: "dan@size.test" }, 1);
    expect(row).toMatchObject({ subject: "Big report", headerFrom: "Shop <app@shop.test>" });
  });

  it("RCPT refused: the row names the recipient", async () => {
    const c = await session();
    expect(await c.cmd(`MAIL FROM:<app@${SHOP}>`)).toBe("250 2.1.0 Accepted");
    expect(await c.cmd("RCPT TO:<jörg@rcpt.test>")).toBe("553 5.6.7 Non-ASCII address requires SMTPUTF8");
    c.close();
    const [row] = await rejectedRows({ recipient: "jörg@rcpt.test" }, 1);
    expect(row).toMatchObject({ recipient: "jörg@rcpt.test", subject: "", headerFrom: "" });
  });

  it("MAIL refused, pipelined: the rows name the recipients sent after it", async () => {
    const c = await session();
    c.write("MAIL FROM:<app@never.test>\r\nRCPT TO:<eve@pipe.test>\r\nRCPT TO:<fay@pipe.test>\r\nDATA\r\n");
    expect(await c.reply()).toBe("550 5.7.1 Sender domain never.test is not authenticated");
    for (let i = 0; i < 3; i++) expect(await c.reply()).toMatch(/^503 /);
    expect(await c.cmd("QUIT")).toMatch(/^221 /);
    c.close();
    const rows = await rejectedRows({ sender: "app@never.test" }, 2);
    expect(rows.map((r) => [r.recipient, r.reason])).toEqual([
      ["eve@pipe.test", "sender_domain_not_authenticated"],
      ["fay@pipe.test", "sender_domain_not_authenticated"],
    ]);
  });

  it("MAIL refused and no recipient given: one row, its recipient empty", async () => {
    const c = await session();
    expect(await c.cmd("MAIL FROM:<app@nobody.test>")).toBe(
      "550 5.7.1 Sender domain nobody.test is not authenticated",
    );
    expect(await c.cmd("QUIT")).toMatch(/^221 /);
    c.close();
    const rows = await rejectedRows({ sender: "app@nobody.test" }, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ recipient: "", subject: "", reason: "sender_domain_not_authenticated" });
  });
});
