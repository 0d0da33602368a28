/**
 * Starts a relay command (`npm start`, `deno task start`) on a fresh data dir and free ports,
 * waits until GET /readyz answers 200, sends SIGTERM and expects a clean exit.
 * Usage: tsx tests/smoke/readyz.ts -- <command> [args...]   (used by .ci/run and tests/smoke/*.test.ts)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePorts } from "../helpers/ports.ts";

export interface SmokeResult {
  readyAfterMs: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

export async function smokeStart(
  command: string[],
  timeoutMs = 120_000,
  extraEnv: Record<string, string> = {},
): Promise<SmokeResult> {
  const dataDir = mkdtempSync(join(tmpdir(), "petrel-smoke-"));
  const [httpPort, submissionPort, smtpsPort, bouncePort] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PETREL_DATA_DIR: dataDir,
    PETREL_HTTP_PORT: String(httpPort),
    PETREL_HOST: "127.0.0.1",
    PETREL_SUBMISSION_PORT: String(submissionPort),
    PETREL_SMTPS_PORT: String(smtpsPort),
    PETREL_BOUNCE_PORT: String(bouncePort),
    PETREL_LOG_LEVEL: "info",
    ...extraEnv,
  };
  for (const k of Object.keys(env))
    if (k === "PETREL_KAFKA_BROKERS" || k === "PETREL_CLICKHOUSE_URL") delete env[k];
  const started = Date.now();
  const child = spawn(command[0]!, command.slice(1), {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  let signal: NodeJS.Signals | null = null;
  const exited = new Promise<number | null>((r) =>
    // "close", not "exit": a wrapper (npx, deno task) can exit before the relay has written its last lines.
    child.once("close", (code, sig) => {
      signal = sig;
      r(code);
    }),
  );
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  try {
    let readyAfterMs = -1;
    while (Date.now() - started < timeoutMs && !exitedEarly) {
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
        if (res.status === 200) {
          readyAfterMs = Date.now() - started;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    if (readyAfterMs < 0) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
      await exited;
      throw new Error(`/readyz never answered 200 within ${timeoutMs} ms; output:\n${output.slice(-4000)}`);
    }
    // SIGTERM to the whole process group, as a supervisor (systemd, a container runtime) does.
    process.kill(-child.pid!, "SIGTERM");
    const killer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, 30_000);
    const exitCode = await exited;
    clearTimeout(killer);
    return { readyAfterMs, exitCode, signal, output };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf("--");
  const cmd = i >= 0 ? process.argv.slice(i + 1) : ["npm", "start"];
  smokeStart(cmd).then(
    (r) => {
      // The relay must log its graceful stop; the command itself must exit 0, or, for a wrapper
      // (npm, npx) that the same group signal ended, by that SIGTERM.
      const stopped = /"msg":"stopped"/.test(r.output);
      // 143 = 128 + SIGTERM: how npm reports a script that the signal ended.
      const clean = r.exitCode === 0 || r.exitCode === 143 || r.signal === "SIGTERM";
      console.log(
        `${cmd.join(" ")}: /readyz 200 after ${r.readyAfterMs} ms; after SIGTERM: exit ${r.exitCode ?? r.signal}, graceful stop logged: ${stopped}`,
      );
      if (!stopped || !clean) console.log(r.output.slice(-3000));
      process.exit(stopped && clean ? 0 : 1);
    },
    (e) => {
      console.error(String(e instanceof Error ? e.message : e));
      process.exit(1);
    },
  );
}
