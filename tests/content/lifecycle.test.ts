/**
 * X5 in a relay composed by the one composition root (relay.ts startRelay, embedded mode): a
 * message's content stays while any recipient of it is not final and is deleted once every
 * recipient has a final status (the domain actors tell the content ledger, whose janitor job
 * deletes the reference). Sandbox recipients (S14) give a Delivered, a Hard bounce and a
 * deferred-then-delivered recipient without leaving the machine. Also the ledger's transition
 * as a table test. Fails if the domain actor does not report final recipients or no janitor runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActorContext } from "../../actors/behavior.ts";
import {
  CONTENT_DELETE_TOPIC,
  type ContentMsg,
  createContentBehavior,
} from "../../actors/content/behavior.ts";
import { type Relay, startRelay } from "../../relay.ts";
import { loadConfig } from "../../shared/config/load.ts";
import type { LocalContentStore } from "../../shared/content/local.ts";
import { ContentNotFoundError } from "../../shared/content/store.ts";
import { createLogger } from "../../shared/log.ts";
import { domainFixture } from "../account/fixtures.ts";
import { waitFor } from "../helpers/wait.ts";

const SANDBOX = "sandbox.petrel.test";

describe("content ledger transition (X5)", () => {
  const run = (msgs: ContentMsg[]) => {
    const b = createContentBehavior({ partitions: 1 });
    let s = b.initial("0");
    const emitted: string[] = [];
    const ctx = {
      now: 0,
      emit: (topic: string, _k: string, v: Uint8Array) =>
        emitted.push(`${topic} ${new TextDecoder().decode(v)}`),
      reply: () => {},
    } as unknown as ActorContext<ContentMsg>;
    for (const m of msgs) s = b.receive(s, m, ctx);
    return { emitted, rows: s.messages.size };
  };
  const final = (rid: string, recipients = 3): ContentMsg => ({
    t: "final",
    messageId: "m1",
    recipientId: rid,
    contentRef: "ref-1",
    recipients,
  });
  it.each([
    ["two of three final: kept", [final("m1.0"), final("m1.1")], [], 1],
    [
      "three of three: deleted once",
      [final("m1.0"), final("m1.2"), final("m1.1")],
      [`${CONTENT_DELETE_TOPIC} ref-1`],
      0,
    ],
    ["a notice redelivered does not count twice", [final("m1.0"), final("m1.0"), final("m1.1")], [], 1],
    ["one recipient: deleted at once", [final("m1.0", 1)], [`${CONTENT_DELETE_TOPIC} ref-1`], 0],
    ["a count that cannot finish is ignored", [final("m1.0", 0)], [], 0],
  ] as const)("%s", (_name, msgs, emitted, rows) => {
    const r = run([...msgs]);
    expect(r.emitted).toEqual(emitted);
    expect(r.rows).toBe(rows);
  });
});

describe("content lifecycle in a relay (X5)", () => {
  const dir = mkdtempSync(join(tmpdir(), "petrel-lifecycle-"));
  let relay: Relay;
  let user: { username: string; password: string };

  beforeAll(async () => {
    const config = loadConfig({
      PETREL_DATA_DIR: dir,
      PETREL_HOST: "127.0.0.1",
      PETREL_SUBMISSION_PORT: "0",
      PETREL_SMTPS_PORT: "0",
      PETREL_BOUNCE_PORT: "0",
      PETREL_HTTP_PORT: "0",
      PETREL_PARTITIONS: "2",
      PETREL_LOG_LEVEL: "error",
      PETREL_DNS_SERVERS: "127.0.0.1:9",
      PETREL_DELIVERY_BACKOFF_BASE_SECONDS: "1",
    });
    relay = await startRelay(config, createLogger("error"));
    const acct = await relay.accounts.createAccount({ name: "Shop", plan: "starter" });
    await relay.accounts.addDomain(acct.accountId, domainFixture("shop.example"));
    await relay.accounts.trustDomain(acct.accountId, "shop.example", "test");
    user = await relay.accounts.createSmtpUser(acct.accountId, { name: "app" });
  }, 180_000);

  afterAll(async () => {
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the content while a recipient is not final, deletes it once all are", async () => {
    const store = relay.content as LocalContentStore;
    const before = new Set(await store.list());
    const t = nodemailer.createTransport({
      host: "127.0.0.1",
      port: relay.ingress.ports.submission,
      requireTLS: true,
      auth: { user: user.username, pass: user.password },
      tls: { rejectUnauthorized: false },
    });
    const info = await t.sendMail({
      from: "app@shop.example",
      to: [`delivered@${SANDBOX}`, `hardbounce@${SANDBOX}`, `deferred@${SANDBOX}`],
      subject: "lifecycle",
      text: "hello",
    });
    t.close();
    expect(info.accepted).toHaveLength(3);
    const refs = (await store.list()).filter((r) => !before.has(r));
    expect(refs).toHaveLength(1);
    const ref = refs[0]!;
    // deferred@ is retried after about a second: the content is still there meanwhile.
    (await relay.content.get(ref)).destroy();
    await waitFor(
      async () => {
        try {
          (await relay.content.get(ref)).destroy();
          return false;
        } catch (e) {
          return e instanceof ContentNotFoundError;
        }
      },
      {
        what: "the content to be deleted once all three recipients are final",
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
  }, 60_000);
});
