/**
 * Real filesystems mounted for the fault suites (issue 17): a size-limited tmpfs (a disk that
 * fills up) and lazyfs.py (a FUSE passthrough that loses every write not covered by an fsync when
 * it is unmounted: a power cut). Both need root; lazyfs also needs /dev/fuse, Debian's libfuse2
 * and the PyPI package fusepy (.ci/run installs it into /opt/fusepy). Without them: a loud SKIP
 * locally, a failure under CI (like tests/helpers/kafka.ts). Each mount is undone by the test that
 * made it, and the lazyfs process is stopped by its PID only.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Where .ci/run installs fusepy (`pip install --target /opt/fusepy fusepy`). */
export const FUSEPY_DIR = "/opt/fusepy";
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const LAZYFS = join(import.meta.dirname, "lazyfs.py");

function skipOrThrow(suite: string, why: string): false {
  if (process.env.CI) throw new Error(`CI must run ${suite}, but ${why}`);
  console.warn(`\n${"!".repeat(78)}\n[petrel tests] SKIP ${suite}: ${why}\n${"!".repeat(78)}\n`);
  return false;
}

const isRoot = () => process.getuid?.() === 0;

/** True when this process may mount a tmpfs; false (after a loud line) when the suite must skip. */
export function canMountTmpfs(suite: string): boolean {
  return isRoot() || skipOrThrow(suite, "mounting a tmpfs needs root");
}

/** True when lazyfs can run here; false (after a loud line) when the suite must skip. */
export function canRunLazyfs(suite: string): boolean {
  if (!isRoot()) return skipOrThrow(suite, "a FUSE mount needs root");
  if (!existsSync("/dev/fuse")) return skipOrThrow(suite, "no /dev/fuse");
  const probe = spawnSync(PYTHON, ["-c", "import fuse"], { env: pythonEnv(), encoding: "utf8" });
  if (probe.status !== 0)
    return skipOrThrow(
      suite,
      `fusepy or libfuse2 missing (apt-get install libfuse2; ${PYTHON} -m pip install --target ${FUSEPY_DIR} fusepy==3.0.1): ${probe.stderr.trim().split("\n").pop()}`,
    );
  return true;
}

function pythonEnv(): NodeJS.ProcessEnv {
  const path = [FUSEPY_DIR, process.env.PYTHONPATH].filter(Boolean).join(":");
  return { ...process.env, PYTHONPATH: path };
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (err, _out, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(" ")}: ${stderr || err.message}`)) : resolve(),
    ),
  );
}

/** Mounts a tmpfs of `bytes` at `dir` (an existing directory); `unmount()` undoes it. */
export async function mountTmpfs(dir: string, bytes: number): Promise<{ unmount(): Promise<void> }> {
  await run("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", dir]);
  let mounted = true;
  return {
    async unmount() {
      if (!mounted) return;
      mounted = false;
      await run("umount", [dir]);
    },
  };
}

export interface LazyMount {
  readonly pid: number;
  /**
   * The power cut: unmounts (the process using it must be dead) and lets lazyfs undo every write
   * no fsync covered; resolves with what it undid.
   */
  cut(): Promise<{ droppedBytes: number; files: number }>;
}

/** Mounts lazyfs at `mountPoint` over `backing`; resolves once it is mounted. */
export function mountLazyfs(backing: string, mountPoint: string): Promise<LazyMount> {
  const proc: ChildProcess = spawn(PYTHON, [LAZYFS, backing, mountPoint], {
    env: pythonEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const mount: LazyMount = {
    pid: proc.pid ?? -1,
    async cut() {
      if (proc.exitCode === null) await run("umount", [mountPoint]);
      await exited;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (!line) throw new Error(`lazyfs ended without its summary:\n${out}`);
      return JSON.parse(line) as { droppedBytes: number; files: number };
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`lazyfs did not mount within 10 s:\n${out}`));
    }, 10_000);
    proc.stdout?.on("data", () => {
      if (!out.includes("READY")) return;
      clearTimeout(timer);
      resolve(mount);
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`lazyfs exited (${code}) before mounting:\n${out}`));
    });
  });
}
