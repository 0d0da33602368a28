/**
 * A running relay for end-to-end tests: `npm start` as a child process on a temp data dir, every
 * listener on a free loopback port, waited for until /readyz answers 200; `stop()` sends SIGTERM
 * to its process group (by its PID) and waits for the exit. And `petrel` runs of the package bin.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePorts, PortTakenError, withFreshPorts } from "../helpers/ports.ts";

export const ROOT = resolve(import.meta.dirname, "../..");

/** The environment without any PETREL_ setting of the test runner (loadConfig rejects unknown ones). */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith("PETREL_") && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

export interface RunningRelay {
  dataDir: string;
  httpPort: number;
  /** The submission (STARTTLS) port the relay listens on. */
  submissionPort: number;
  api: string;
  /** stdout and stderr so far. */
  output(): string;
  stop(): Promise<number | null>;
}

export function startRelayProcess(extraEnv: Record<string, string> = {}, timeoutMs = 150_000) {
  return withFreshPorts(() => startRelayOnce(extraEnv, timeoutMs));
}

async function startRelayOnce(extraEnv: Record<string, string>, timeoutMs: number): Promise<RunningRelay> {
  const dataDir = mkdtempSync(join(tmpdir(), "petrel-cli-"));
  const [httpPort, submissionPort, smtpsPort, bouncePort] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const env = cleanEnv({
    PETREL_DATA_DIR: dataDir,
    PETREL_HTTP_PORT: String(httpPort),
    PETREL_HOST: "127.0.0.1",
    PETREL_SUBMISSION_PORT: String(submissionPort),
    PETREL_SMTPS_PORT: String(smtpsPort),
    PETREL_BOUNCE_PORT: String(bouncePort),
    PETREL_LOG_LEVEL: "info",
    PETREL_PARTITIONS: "2",
    ...extraEnv,
  });
  const child: ChildProcess = spawn("npm", ["start"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  const api = `http://127.0.0.1:${httpPort}`;
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done) {
      rmSync(dataDir, { recursive: true, force: true });
      const message = `the relay exited before it was ready:\n${output.slice(-3000)}`;
      throw /EADDRINUSE/.test(output) ? new PortTakenError(message) : new Error(message);
    }
    if (Date.now() > deadline) {
      kill("SIGKILL");
      await exited;
      throw new Error(`/readyz did not answer 200 within ${timeoutMs} ms:\n${output.slice(-3000)}`);
    }
    const ok = await fetch(`${api}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(200);
  }
  return {
    dataDir,
    httpPort,
    submissionPort: Number(env.PETREL_SUBMISSION_PORT),
    api,
    output: () => output,
    async stop() {
      kill("SIGTERM");
      const killer = setTimeout(() => kill("SIGKILL"), 30_000);
      const code = await exited;
      clearTimeout(killer);
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: the printed JSON is inspected field by field
  json(): any;
}

/** Runs `petrel <args>` through the package bin (bin/petrel.js), or `npx petrel` when asked. */
export function petrel(
  args: string[],
  env: Record<string, string>,
  o: { npx?: boolean } = {},
): Promise<CliRun> {
  const [cmd, argv] = o.npx
    ? ["npx", ["petrel", ...args]]
    : [process.execPath, [join(ROOT, "bin/petrel.js"), ...args]];
  return new Promise((resolveRun) => {
    execFile(cmd, argv, { cwd: ROOT, env: cleanEnv(env), timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolveRun({ code, stdout, stderr, json: () => JSON.parse(stdout) });
    });
  });
}
