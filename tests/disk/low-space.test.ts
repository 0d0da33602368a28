/**
 * Issue 17, point 1, in a whole relay (relay.ts startRelay, embedded mode) whose data dir is a
 * real 160 MiB tmpfs with a 32 MiB free-space floor, measured every 100 ms:
 *  - filled below the floor: `452 4.3.1 Insufficient system storage` at MAIL FROM, a `Rejected`
 *    row in Activity, /readyz 503 `insufficient_storage` with the volume's free bytes and floor,
 *    `petrel_disk_below_floor{volume="data"} 1`;
 *  - the floor crossed between RCPT and DATA: 452 4.3.1 at the end of DATA, a Rejected row;
 *  - space freed: accepting resumes on its own (no call into the relay);
 *  - the disk filled completely in the middle of DATA: `451 4.3.0`; after a restart the log
 *    reopens with nothing to cut, every frame of every topic reads, every content entry reads,
 *    and the relay accepts again.
 * Needs root for the mount: a loud SKIP otherwise, a failure under CI.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Relay, startRelay } from "../../relay.ts";
import { relayApp } from "../../relay-app.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { loadConfig } from "../../shared/config/load.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { createLogger } from "../../shared/log.ts";
import { domainFixture } from "../account/fixtures.ts";
import { canMountTmpfs, mountTmpfs } from "../helpers/mounts.ts";
import { waitFor } from "../helpers/wait.ts";
import { RawClient } from "../ingress/harness.ts";

const MiB = 1024 * 1024;
const FLOOR = 32 * MiB;
const SUITE = "free-space floor on a 160 MiB tmpfs";
const available = canMountTmpfs(SUITE);

describe.skipIf(!available)(SUITE, () => {
  const dir = mkdtempSync(join(tmpdir(), "petrel-lowdisk-"));
  const config = loadConfig({
    PETREL_DATA_DIR: dir,
    PETREL_HOST: "127.0.0.1",
    PETREL_SUBMISSION_PORT: "0",
    PETREL_SMTPS_PORT: "0",
    PETREL_BOUNCE_PORT: "0",
    PETREL_HTTP_PORT: "0",
    PETREL_PARTITIONS: "2",
    PETREL_LOG_LEVEL: "silent",
    PETREL_DNS_SERVERS: "127.0.0.1:9",
    PETREL_DISK_MIN_FREE_BYTES: String(FLOOR),
    PETREL_DISK_CHECK_INTERVAL_MS: "100",
  });
  const log = createLogger("silent");
  let unmount: () => Promise<void> = async () => {};
  let relay: Relay | undefined;
  let user: { username: string; password: string };
  let accountId = "";
  let ballasts = 0;

  const free = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  /** A ballast file of `bytes` (allocated, not sparse); `"all"` = until the disk is full. */
  const fill = (bytes: number | "all") => {
    const path = join(dir, `ballast-${ballasts++}`);
    if (bytes === "all") {
      // written until ENOSPC, in 1 MiB then 4 KiB pieces (a bounded loop: the tmpfs is 160 MiB)
      const fd = openSync(path, "w");
      try {
        for (const piece of [MiB, 4096]) {
          const buf = Buffer.alloc(piece, 1);
          for (let i = 0; i < 1024; i++) {
            try {
              if (writeSync(fd, buf) < piece) break;
            } catch {
              break;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return;
    }
    execFileSync("fallocate", ["-l", String(bytes), path]);
  };
  const unfill = async () => {
    for (const f of await readdir(dir)) if (f.startsWith("ballast-")) await rm(join(dir, f));
  };
  const transport = (r: Relay) =>
    nodemailer.createTransport({
      host: "127.0.0.1",
      port: r.ingress.ports.submission,
      requireTLS: true,
      auth: { user: user.username, pass: user.password },
      tls: { rejectUnauthorized: false },
    });
  const send = async (r: Relay, subject: string): Promise<string> => {
    const t = transport(r);
    try {
      const info = await t.sendMail({
        from: "app@shop.example",
        to: [`delivered@sandbox.petrel.test`],
        subject,
        text: "hello\n",
      });
      return info.response;
    } catch (e) {
      return (e as { response?: string }).response ?? String(e);
    } finally {
      t.close();
    }
  };
  const rejectedRows = async (r: Relay) =>
    (
      await r.analytics.activity(
        accountId,
        { from: 0, to: Date.now() + 3_600_000, status: ["Rejected"], limit: 100 },
        "UTC",
      )
    ).rows.filter((row) => row.reason === "insufficient_storage");

  beforeAll(async () => {
    unmount = (await mountTmpfs(dir, 160 * MiB)).unmount;
    relay = await startRelay(config, log);
    const acct = await relay.accounts.createAccount({ name: "Shop", plan: "starter" });
    accountId = acct.accountId;
    await relay.accounts.addDomain(accountId, domainFixture("shop.example"));
    await relay.accounts.trustDomain(accountId, "shop.example", "test");
    user = await relay.accounts.createSmtpUser(accountId, { name: "app" });
  }, 180_000);

  afterAll(async () => {
    await relay?.stop();
    await unmount();
    rmSync(dir, { recursive: true, force: true });
  });

  it("below the floor: 452 4.3.1 at MAIL FROM, a Rejected row, /readyz and the metric say why; space back: accepts again", async () => {
    const r = relay as Relay;
    expect(await send(r, "before")).toMatch(/^250 2\.0\.0 OK queued as /);

    fill(free() - FLOOR / 2);
    await waitFor(() => !r.disk.ok, { what: "the guard to see the floor crossed" });
    expect(await send(r, "below the floor")).toBe("452 4.3.1 Insufficient system storage");
    await waitFor(async () => (await rejectedRows(r)).length >= 1, { what: "a Rejected row" });

    const app = relayApp(r, config, log);
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as {
      status: string;
      checks: Record<string, boolean>;
      disk: { volume: string; freeBytes: number; floorBytes: number; ok: boolean }[];
    };
    expect(body.status).toBe("insufficient_storage");
    expect(body.checks.disk).toBe(false);
    const data = body.disk.find((v) => v.volume === "data");
    expect(data?.ok).toBe(false);
    expect(data?.floorBytes).toBe(FLOOR);
    expect(data?.freeBytes).toBeLessThan(FLOOR);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain('petrel_disk_below_floor{volume="data"} 1');
    expect(metrics).toMatch(/petrel_disk_free_bytes\{volume="content"\} \d+/);

    await unfill();
    await waitFor(() => r.disk.ok, { what: "accepting to resume on its own" });
    expect((await app.request("/readyz")).status).toBe(200);
    expect(await send(r, "after")).toMatch(/^250 2\.0\.0 OK queued as /);
  }, 120_000);

  it("the floor crossed between RCPT and DATA: 452 4.3.1 at the end of DATA and a Rejected row", async () => {
    const r = relay as Relay;
    const before = (await rejectedRows(r)).length;
    const c = await RawClient.connect(r.ingress.ports.smtps, true);
    try {
      expect(await c.reply()).toMatch(/^220/);
      expect(await c.cmd("EHLO client.test")).toMatch(/^250/);
      const plain = Buffer.from(`\0${user.username}\0${user.password}`).toString("base64");
      expect(await c.cmd(`AUTH PLAIN ${plain}`)).toMatch(/^235/);
      expect(await c.cmd("MAIL FROM:<app@shop.example>")).toMatch(/^250/);
      expect(await c.cmd("RCPT TO:<late@sandbox.petrel.test>")).toMatch(/^250/);
      fill(free() - FLOOR / 2);
      await waitFor(() => !r.disk.ok, { what: "the guard to see the floor crossed" });
      expect(await c.cmd("DATA")).toMatch(/^354/);
      expect(await c.cmd("From: app@shop.example\r\nSubject: late\r\n\r\nhello\r\n.")).toBe(
        "452 4.3.1 Insufficient system storage",
      );
      await c.cmd("QUIT");
    } finally {
      c.socket.destroy();
    }
    await waitFor(
      async () => (await rejectedRows(r)).some((row) => row.recipient === "late@sandbox.petrel.test"),
      { what: "the Rejected row of the late recipient" },
    );
    expect((await rejectedRows(r)).length).toBeGreaterThan(before);
    await unfill();
    await waitFor(() => r.disk.ok, { what: "accepting to resume on its own" });
  }, 120_000);

  it("the disk full in the middle of DATA: 451 4.3.0; after a restart no torn frame or entry, and it accepts again", async () => {
    let r = relay as Relay;
    const c = await RawClient.connect(r.ingress.ports.smtps, true);
    try {
      await c.reply();
      await c.cmd("EHLO client.test");
      await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user.username}\0${user.password}`).toString("base64")}`);
      expect(await c.cmd("MAIL FROM:<app@shop.example>")).toMatch(/^250/);
      expect(await c.cmd("RCPT TO:<full@sandbox.petrel.test>")).toMatch(/^250/);
      expect(await c.cmd("DATA")).toMatch(/^354/);
      fill("all");
      expect(free()).toBe(0);
      const body = `From: app@shop.example\r\nSubject: full\r\n\r\n${"x".repeat(76)}\r\n`.repeat(2_000);
      expect(await c.cmd(`${body}.`)).toBe("451 4.3.0 Temporary failure, please try again later");
    } finally {
      c.socket.destroy();
    }
    await r.stop();
    relay = undefined;
    await unfill();

    // The surviving files: the log has nothing to cut and every frame reads; so does every entry.
    const bus = await LogBus.open({ dir: join(dir, "bus"), maintenanceIntervalMs: 0 });
    let frames = 0;
    try {
      expect(bus.recovery).toEqual([]);
      for (const topic of await readdir(join(dir, "bus", "topics"))) {
        const n = await bus.partitionCount(topic).catch(() => 0);
        if (n > 0) await bus.replay(topic, [...Array(n).keys()], () => frames++);
      }
    } finally {
      await bus.close();
    }
    expect(frames).toBeGreaterThan(0);
    const store = await LocalContentStore.open(join(dir, "content"));
    try {
      for (const ref of await store.list()) for await (const _ of await store.get(ref));
    } finally {
      await store.close();
    }

    r = await startRelay(config, log);
    relay = r;
    expect(await send(r, "after the restart")).toMatch(/^250 2\.0\.0 OK queued as /);
  }, 180_000);
});
