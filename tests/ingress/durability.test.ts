/**
 * S11 acceptance: a relay child process receives a stream of messages from 10 concurrent clients
 * and is killed with SIGKILL at random moments, 20 times; after the last kill, every message that
 * had received `250` is in the content store with all its recipient records on the bus.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { afterAll, describe, expect, it } from "vitest";
import { inboxTopic } from "../../actors/topics.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { cleanEnv, ROOT } from "../cli/relay.ts";
import { HOST } from "./harness.ts";

const KILLS = 20;
const CLIENTS = 10;
const dataDir = mkdtempSync(join(tmpdir(), "petrel-durability-"));
let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid && child.exitCode === null) child.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

function startChild(): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ["--import", "tsx", "tests/ingress/durability-child.ts"], {
    cwd: ROOT,
    env: cleanEnv({
      PETREL_DATA_DIR: dataDir,
      PETREL_HOST: HOST,
      PETREL_HTTP_PORT: "0",
      PETREL_SUBMISSION_PORT: "0",
      PETREL_SMTPS_PORT: "0",
      PETREL_BOUNCE_PORT: "0",
      PETREL_PARTITIONS: "2",
      PETREL_LOG_LEVEL: "error",
      // Delivery runs in the child too: its DNS goes to a dead loopback port, never the system resolver.
      PETREL_DNS_SERVERS: "127.0.0.1:9",
      // S4 leases of the killed process's sessions lapse quickly, so the next round can log in.
      PETREL_SMTP_SESSION_LEASE_MS: "1500",
    }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child not ready:\n${out}`)), 90_000);
    proc.stdout?.on("data", (d) => {
      out += d;
      const m = /READY (\d+) (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]) });
      }
    });
    proc.stderr?.on("data", (d) => (out += d));
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before ready:\n${out}`));
    });
  });
}

interface Acked {
  id: string;
  to: string[];
}

describe("S11 durability under SIGKILL", () => {
  it(`every message answered 250 survives ${KILLS} SIGKILLs with all its recipient records`, async () => {
    const acked: Acked[] = [];
    let seq = 0;
    for (let round = 0; round < KILLS; round++) {
      const { proc, port } = await startChild();
      const creds = JSON.parse(readFileSync(join(dataDir, "creds.json"), "utf8")) as {
        username: string;
        password: string;
      };
      let running = true;
      const exited = new Promise<void>((r) => proc.once("exit", () => r()));
      const clients = Array.from({ length: CLIENTS }, async (_, k) => {
        const t = nodemailer.createTransport({
          host: HOST,
          port,
          requireTLS: true,
          auth: { user: creds.username, pass: creds.password },
          tls: { rejectUnauthorized: false },
          pool: true,
          maxConnections: 1,
          connectionTimeout: 5_000,
          socketTimeout: 5_000,
        });
        while (running) {
          const n = seq++;
          const to = Array.from({ length: 1 + (n % 3) }, (_, i) => `u${n}.${i}@d${(n + i) % 7}.example.net`);
          try {
            const info = await t.sendMail({
              from: "app@shop.example",
              to,
              subject: `m${n}`,
              text: `client ${k} msg ${n}\n`.repeat(20),
            });
            const id = /^250 2\.0\.0 OK queued as (\S+)$/.exec(info.response)?.[1];
            if (id) acked.push({ id, to });
          } catch {
            if (!running) break;
          }
        }
        t.close();
      });
      await new Promise((r) => setTimeout(r, 1_000 + Math.floor(Math.random() * 2_000)));
      proc.kill("SIGKILL");
      await exited;
      running = false;
      await Promise.all(clients);
    }
    expect(acked.length).toBeGreaterThan(KILLS);

    const store = await LocalContentStore.open(join(dataDir, "content"));
    const bus = await LogBus.open({ dir: join(dataDir, "bus"), maintenanceIntervalMs: 0 });
    const records = new Map<string, Set<string>>();
    const contentRefs = new Map<string, string>();
    try {
      const topic = inboxTopic("domain");
      const parts = await bus.partitionCount(topic);
      await bus.replay(topic, [...Array(parts).keys()], (r) => {
        if (r.value.length === 0) return;
        const env = JSON.parse(new TextDecoder().decode(r.value)) as {
          m?: { t?: string; record?: { messageId: string; recipient: string; contentRef: string } };
        };
        const rec = env.m?.t === "recipient" ? env.m.record : undefined;
        if (!rec) return;
        const set = records.get(rec.messageId) ?? new Set<string>();
        set.add(rec.recipient);
        contentRefs.set(rec.messageId, rec.contentRef);
        records.set(rec.messageId, set);
      });
    } finally {
      await bus.close();
    }
    const lost: string[] = [];
    for (const m of acked) {
      let content = false;
      try {
        let size = 0;
        // the content the records name (a segment entry or a file of its own)
        for await (const chunk of await store.get(contentRefs.get(m.id) ?? m.id))
          size += (chunk as Buffer).length;
        content = size > 0;
      } catch {
        content = false;
      }
      const got = records.get(m.id);
      if (!content || !got || m.to.some((r) => !got.has(r))) lost.push(m.id);
    }
    expect(lost).toEqual([]);
  }, 900_000);
});
