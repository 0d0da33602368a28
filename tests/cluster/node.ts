/**
 * One relay node as a child process (`node --import tsx main.ts`, the same entry as `npm start`)
 * with the cluster's shared settings and its own data dir and free loopback ports; waited for
 * until /readyz answers 200. Used by `npm run cluster:local` and the multi-node tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePorts, PortTakenError, withFreshPorts } from "../helpers/ports.ts";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface ClusterNode {
  id: string;
  pid: number;
  dataDir: string;
  smtp: number;
  smtps: number;
  bounce: number;
  http: number;
  api: string;
  output(): string;
  /** SIGTERM, SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL at once (a node dying). */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** The parent's environment without its PETREL_ settings (the relay refuses unknown ones). */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith("PETREL_") && v !== undefined) env[k] = v;
  return env;
}

type NodeOptions = { timeoutMs?: number; keepData?: boolean; dataDir?: string; onOutput?(s: string): void };

export function startNode(id: string, shared: Record<string, string>, o: NodeOptions = {}) {
  return withFreshPorts(() => startNodeOnce(id, shared, o));
}

async function startNodeOnce(
  id: string,
  shared: Record<string, string>,
  o: NodeOptions,
): Promise<ClusterNode> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), `petrel-node-${id}-`));
  const [smtp, smtps, bounce, http] = (await freePorts(4)) as [number, number, number, number];
  const env = {
    ...baseEnv(),
    PETREL_HOST: "127.0.0.1",
    PETREL_LOG_LEVEL: "info",
    ...shared,
    PETREL_NODE_ID: id,
    PETREL_DATA_DIR: dataDir,
    PETREL_SUBMISSION_PORT: String(smtp),
    PETREL_SMTPS_PORT: String(smtps),
    PETREL_BOUNCE_PORT: String(bounce),
    PETREL_HTTP_PORT: String(http),
  };
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "main.ts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const take = (d: Buffer) => {
    const s = d.toString();
    output += s;
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
    o.onOutput?.(s);
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  const api = `http://127.0.0.1:${http}`;
  const signal = (s: NodeJS.Signals) => {
    if (!done) child.kill(s);
  };
  const cleanup = () => {
    if (!o.keepData) rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (o.timeoutMs ?? 180_000);
  for (;;) {
    if (done) {
      const message = `node ${id} exited before it was ready:\n${output.slice(-4000)}`;
      if (!/EADDRINUSE/.test(output)) throw new Error(message);
      if (!o.dataDir) cleanup(); // a given data dir is kept for the next try
      throw new PortTakenError(message);
    }
    if (Date.now() > deadline) {
      signal("SIGKILL");
      await exited;
      cleanup();
      throw new Error(`node ${id}: /readyz did not answer 200 in time:\n${output.slice(-4000)}`);
    }
    const ok = await fetch(`${api}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(250);
  }
  return {
    id,
    pid: child.pid!,
    dataDir,
    smtp,
    smtps,
    bounce,
    http,
    api,
    output: () => output,
    exited,
    async stop(graceMs = 30_000) {
      signal("SIGTERM");
      const t = setTimeout(() => signal("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(t);
      cleanup();
      return code;
    },
    async kill() {
      signal("SIGKILL");
      await exited;
    },
  };
}
