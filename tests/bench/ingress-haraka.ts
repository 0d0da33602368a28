/**
 * The Haraka peer of the ingress benchmark (issue 4 "Measure"), optional: Haraka is not a project
 * dependency. Install it outside the tree and name its binary:
 *   npm install --prefix /tmp/haraka-pkg Haraka@3.3.4
 *   BENCH_HARAKA=/tmp/haraka-pkg/node_modules/.bin/haraka npm run bench:ingress
 * Configured for the work Petrel's ingress does: `tls` (STARTTLS), `auth/flat_file` (PLAIN,
 * LOGIN; Haraka offers AUTH only after TLS on a non-private address — on loopback it offers it
 * before too), one process (no cluster), and a queue plugin written here that streams each
 * message to its own file, fsyncs it, renames it into place and fsyncs the directory before `OK`
 * (Haraka has no durable inbound queue of its own). rDNS is answered locally (no DNS query).
 */
import { execFile, spawn } from "node:child_process";
import { copyFileSync, existsSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { greets, selfSignedPair, stopChild } from "../helpers/daemon.ts";
import { freePort } from "../helpers/ports.ts";
import { treeCpuSeconds, treePeakRssMiB } from "./ingress-postfix.ts";

export const HARAKA_BIN = process.env.BENCH_HARAKA;

export interface HarakaPeer {
  port: number;
  pid: number;
  auth: boolean;
  creds: { username: string; password: string };
  cpuSeconds(): number;
  peakRssMiB(): number;
  stop(): Promise<void>;
}

export function harakaPeerMissing(): string | undefined {
  if (!HARAKA_BIN) return "BENCH_HARAKA (path of the haraka binary) is not set";
  if (!existsSync(HARAKA_BIN)) return `${HARAKA_BIN} not found`;
  return undefined;
}

const QUEUE_PLUGIN = `
// Durable queue for the benchmark: the message to a file, fsync, rename, directory fsync, then OK.
const fs = require('node:fs')
const path = require('node:path')
exports.register = function () {
  this.dir = path.join(process.env.HARAKA_QUEUE_DIR)
  fs.mkdirSync(path.join(this.dir, 'tmp'), { recursive: true })
}
exports.hook_lookup_rdns = function (next) { next(OK, 'localhost') }
exports.hook_queue = function (next, connection) {
  const txn = connection.transaction
  const tmp = path.join(this.dir, 'tmp', txn.uuid)
  const dst = path.join(this.dir, txn.uuid)
  const ws = fs.createWriteStream(tmp, { autoClose: false })
  ws.on('error', (e) => next(DENYSOFT, e.message))
  ws.on('finish', () => {
    fs.fsync(ws.fd, (e1) => {
      fs.close(ws.fd, () => {
        if (e1) return next(DENYSOFT, e1.message)
        fs.rename(tmp, dst, (e2) => {
          if (e2) return next(DENYSOFT, e2.message)
          fs.open(this.dir, 'r', (e3, fd) => {
            if (e3) return next(DENYSOFT, e3.message)
            fs.fsync(fd, () => fs.close(fd, () => next(OK)))
          })
        })
      })
    })
  })
  txn.message_stream.pipe(ws)
}
`;

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, (err, stdout, stderr) =>
      err ? reject(new Error(`${file} ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

export async function startHarakaPeer(): Promise<HarakaPeer> {
  const missing = harakaPeerMissing();
  if (missing || !HARAKA_BIN) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), "petrel-bench-haraka-"));
  const cfg = join(dir, "config");
  await mkdir(cfg, { recursive: true });
  await mkdir(join(dir, "plugins"), { recursive: true });
  // Haraka's tls plugin reads config/tls_key.pem and config/tls_cert.pem (without them it offers
  // no STARTTLS: the bench's first STARTTLS got "500 Unrecognized command").
  await selfSignedPair(cfg, "submission.haraka.test");
  await rename(join(cfg, "key.pem"), join(cfg, "tls_key.pem"));
  await rename(join(cfg, "cert.pem"), join(cfg, "tls_cert.pem"));
  // Haraka's tls plugin would otherwise generate 2048-bit DH parameters at start (minutes).
  await run("openssl", ["dhparam", "-dsaparam", "-out", join(cfg, "dhparams.pem"), "2048"]);
  const creds = { username: "bench", password: "bench-password-1" };
  const port = await freePort();
  // Haraka's defaults that its core reads from the config dir (greeting, limits)
  copyFileSync(
    join(dirname(realpathSync(HARAKA_BIN)), "..", "config", "connection.ini"),
    join(cfg, "connection.ini"),
  );
  await writeFile(join(dir, "plugins", "queue_fsync.js"), QUEUE_PLUGIN);
  await writeFile(join(cfg, "plugins"), "tls\nauth/flat_file\nqueue_fsync\n");
  await writeFile(join(cfg, "smtp.ini"), `listen=127.0.0.1:${port}\n`);
  await writeFile(join(cfg, "me"), "submission.haraka.test\n");
  await writeFile(join(cfg, "log.ini"), "[main]\nlevel=error\n");
  await writeFile(join(cfg, "tls.ini"), "[main]\nminVersion=TLSv1.2\n");
  await writeFile(
    join(cfg, "auth_flat_file.ini"),
    `[core]\nmethods=PLAIN,LOGIN\n\n[users]\n${creds.username}=${creds.password}\n`,
  );
  await writeFile(join(dir, "package.json"), '{"name":"bench-haraka","private":true}\n');
  const child = spawn(HARAKA_BIN, ["-c", dir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HARAKA_QUEUE_DIR: join(dir, "spool") },
  });
  let out = "";
  child.stdout?.on("data", (c) => (out += String(c)));
  child.stderr?.on("data", (c) => (out += String(c)));
  if (!(await greets(port, child))) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`haraka did not start: ${out.slice(-2000)}`);
  }
  const pid = child.pid as number;
  return {
    port,
    pid,
    auth: true,
    creds,
    // the `haraka` binary may run the server in a child process: count the whole tree
    cpuSeconds: () => treeCpuSeconds(pid),
    peakRssMiB: () => treePeakRssMiB(pid),
    async stop() {
      await stopChild(child);
      // Haraka may still be flushing its own queue folder as it exits
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}
