/**
 * S11 under a power cut, not only a process kill (issue 17, point 5). The SIGKILL test
 * (durability.test.ts) cannot tell a missing fsync from a present one: the page cache survives a
 * killed process. Here the relay's bus and content directories live on lazyfs
 * (tests/helpers/lazyfs.py), which undoes every write no fsync covered when it is unmounted.
 *
 * Round 1: the relay (without delivery workers, so nothing is delivered before the cut) takes a
 * handful of messages; right after the last `250` it is killed with SIGKILL and the power is cut.
 * Then, on the surviving files: every acknowledged message has its content and all its recipient
 * records. Round 2: the whole relay restarts on them (lazyfs again) and every recipient of every
 * acknowledged message is delivered (sandbox recipients, S14).
 * It fails when the fdatasync before `250` is taken out (content segment or bus log): see the
 * README's test section.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { afterAll, describe, expect, it } from "vitest";
import { inboxTopic } from "../../actors/topics.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { cleanEnv, ROOT } from "../cli/relay.ts";
import { canRunLazyfs, type LazyMount, mountLazyfs } from "../helpers/mounts.ts";
import { waitFor } from "../helpers/wait.ts";
import { HOST } from "./harness.ts";

const MESSAGES = 6;
const SUITE = "S11 power cut (lazyfs)";
const available = canRunLazyfs(SUITE);

const root = mkdtempSync(join(tmpdir(), "petrel-powercut-"));
const dataDir = join(root, "data");
const lower = join(root, "lower");
const mnt = join(root, "mnt");
let child: ChildProcess | undefined;
let mount: LazyMount | undefined;

afterAll(async () => {
  if (child?.pid && child.exitCode === null) child.kill("SIGKILL");
  await mount?.cut().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  port: number;
  output(): string;
}

function startChild(env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", "tsx", "tests/ingress/durability-child.ts"], {
    cwd: ROOT,
    env: {
      ...cleanEnv({
        PETREL_DATA_DIR: dataDir,
        PETREL_HOST: HOST,
        PETREL_HTTP_PORT: "0",
        PETREL_SUBMISSION_PORT: "0",
        PETREL_SMTPS_PORT: "0",
        PETREL_BOUNCE_PORT: "0",
        PETREL_PARTITIONS: "2",
        PETREL_LOG_LEVEL: "error",
        PETREL_DNS_SERVERS: "127.0.0.1:9",
        PETREL_SMTP_SESSION_LEASE_MS: "1500",
      }),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child not ready:\n${out}`)), 120_000);
    proc.stdout?.on("data", () => {
      const m = /READY (\d+) (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({ proc, port: Number(m[1]), output: () => out });
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before ready:\n${out}`));
    });
  });
}

async function kill9(c: Child): Promise<void> {
  const exited = new Promise<void>((r) => c.proc.once("exit", () => r()));
  c.proc.kill("SIGKILL");
  await exited;
}

/** What survived on disk: each message id → its recipients with a record, and its content's size. */
async function survivors(): Promise<{ records: Map<string, Set<string>>; content: Map<string, number> }> {
  const store = await LocalContentStore.open(join(lower, "content"));
  const bus = await LogBus.open({ dir: join(lower, "bus"), maintenanceIntervalMs: 0 });
  const records = new Map<string, Set<string>>();
  const refs = new Map<string, string>();
  const content = new Map<string, number>();
  try {
    const topic = inboxTopic("domain");
    await bus.replay(topic, [...Array(await bus.partitionCount(topic)).keys()], (r) => {
      if (r.value.length === 0) return;
      const env = JSON.parse(new TextDecoder().decode(r.value)) as {
        m?: { t?: string; record?: { messageId: string; recipient: string; contentRef: string } };
      };
      const rec = env.m?.t === "recipient" ? env.m.record : undefined;
      if (!rec) return;
      records.set(rec.messageId, (records.get(rec.messageId) ?? new Set()).add(rec.recipient));
      refs.set(rec.messageId, rec.contentRef);
    });
    for (const [id, ref] of refs) {
      let size = 0;
      try {
        for await (const chunk of await store.get(ref)) size += (chunk as Buffer).length;
      } catch {
        size = 0;
      }
      content.set(id, size);
    }
  } finally {
    await bus.close();
    await store.close();
  }
  return { records, content };
}

describe.skipIf(!available)(SUITE, () => {
  it(`${MESSAGES} messages answered 250 survive SIGKILL + a power cut and are all delivered`, async () => {
    mkdirSync(dataDir);
    for (const d of ["bus", "content"]) {
      mkdirSync(join(lower, d), { recursive: true });
      symlinkSync(join(mnt, d), join(dataDir, d));
    }
    mkdirSync(mnt);

    // Round 1: accept, SIGKILL right after the last 250, cut the power.
    mount = await mountLazyfs(lower, mnt);
    const first = await startChild({ CHILD_NO_DELIVERY: "1" });
    const creds = JSON.parse(readFileSync(join(dataDir, "creds.json"), "utf8")) as {
      username: string;
      password: string;
    };
    const t = nodemailer.createTransport({
      host: HOST,
      port: first.port,
      requireTLS: true,
      auth: { user: creds.username, pass: creds.password },
      tls: { rejectUnauthorized: false },
      pool: true,
      maxConnections: 1,
    });
    const acked: { id: string; to: string[] }[] = [];
    for (let n = 0; n < MESSAGES; n++) {
      const to = [`u${n}@sandbox.petrel.test`, `v${n}@sandbox.petrel.test`];
      const info = await t.sendMail({
        from: "app@shop.example",
        to,
        subject: `m${n}`,
        text: `message ${n}\n`.repeat(50),
      });
      const id = /^250 2\.0\.0 OK queued as (\S+)$/.exec(info.response)?.[1];
      expect(id, info.response).toBeTruthy();
      acked.push({ id: id as string, to });
    }
    await kill9(first);
    t.close();
    const cut = await mount.cut();
    mount = undefined;
    console.log(`[power cut] ${acked.length} acknowledged; lazyfs undid ${JSON.stringify(cut)}`);

    // On the surviving files: content and every recipient record of each acknowledged message.
    const { records, content } = await survivors();
    const lost = acked.filter(
      (m) => !(content.get(m.id) ?? 0) || m.to.some((r) => !records.get(m.id)?.has(r)),
    );
    expect(lost.map((m) => m.id)).toEqual([]);

    // Round 2: the whole relay on the surviving files delivers every recipient.
    mount = await mountLazyfs(lower, mnt);
    const second = await startChild({ CHILD_PRINT_DELIVERED: "1" });
    await waitFor(
      () => acked.every((m) => m.to.every((r) => second.output().includes(`DELIVERED ${m.id} ${r}`))),
      { timeoutMs: 60_000, intervalMs: 100, what: "every acknowledged recipient delivered" },
    );
    await kill9(second);
    await mount.cut();
    mount = undefined;
  }, 300_000);
});
