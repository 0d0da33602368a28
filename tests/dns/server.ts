/**
 * A real authoritative DNS server for tests: Knot DNS (`knotd`, Debian package `knot`) serving
 * the given zone files on a free loopback port, in the foreground, from a temp dir, as the
 * current user. `reload` replaces the zones (forced reload through `knotc`, waited for);
 * `stop` ends the process by its PID and removes the dir.
 *
 * Knot binds UDP with SO_REUSEPORT but TCP exclusively, so a port taken by another server makes
 * knotd exit at start; we then retry on another port.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../helpers/ports.ts";

export interface ZoneText {
  /** The zone's apex, e.g. `example.com` (final dot optional). */
  origin: string;
  /** RFC 1035 master file. */
  text: string;
}

/** A small zone of the tests: SOA, NS ns1 → 127.0.0.1, then `lines` (master-file records). */
export function testZone(origin: string, lines: string[]): ZoneText {
  return {
    origin,
    text: [
      `$ORIGIN ${origin}.`,
      "$TTL 60",
      `@ IN SOA ns1.${origin}. hostmaster.${origin}. 1 3600 600 86400 60`,
      `@ IN NS ns1.${origin}.`,
      "ns1 IN A 127.0.0.1",
      ...lines,
      "",
    ].join("\n"),
  };
}

export interface DnsServer {
  /** `127.0.0.1:PORT`, for `Resolver.setServers` and `PETREL_DNS_SERVERS`. */
  address: string;
  pid: number;
  reload(zones: ZoneText[]): Promise<void>;
  stop(): Promise<void>;
}

export const DNS_PACKAGE = "knot";

/** Thrown when the server's binaries are not installed. */
export class DnsServerUnavailableError extends Error {
  override readonly name = "DnsServerUnavailableError";
}

function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin", "/usr/local/sbin"];
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  return undefined;
}

/** Why the server cannot run here, or undefined when it can. */
export function dnsServerMissing(): string | undefined {
  const missing = ["knotd", "knotc"].filter((b) => !findBinary(b));
  if (missing.length === 0) return undefined;
  return `${missing.join(" and ")} not found: install the Debian package "${DNS_PACKAGE}" (apt-get install ${DNS_PACKAGE})`;
}

/**
 * For a suite's top level: true when the server can run. Without it a loud SKIP line locally;
 * in CI (CI set) it throws, so the suite fails.
 */
export function requireDnsServer(suite: string): boolean {
  const why = dnsServerMissing();
  if (!why) return true;
  if (process.env.CI) throw new DnsServerUnavailableError(`CI needs a real DNS server for ${suite}: ${why}`);
  console.warn(`\n${"!".repeat(78)}\n[petrel tests] SKIP ${suite}: ${why}\n${"!".repeat(78)}\n`);
  return false;
}

const origin = (o: string) => o.replace(/\.$/, "").toLowerCase();

function config(dir: string, port: number, zones: ZoneText[]): string {
  return [
    "server:",
    `  rundir: "${dir}"`,
    `  listen: 127.0.0.1@${port}`,
    "  udp-workers: 1",
    "  tcp-workers: 1",
    "  background-workers: 1",
    "control:",
    `  listen: "${join(dir, "knot.sock")}"`,
    "log:",
    "  - target: stderr",
    "    any: info",
    "database:",
    `  storage: "${join(dir, "db")}"`,
    "template:",
    "  - id: default",
    `    storage: "${join(dir, "zones")}"`,
    '    file: "%s.zone"',
    "    zonefile-sync: -1",
    "    zonefile-load: whole",
    "    journal-content: none",
    "zone:",
    ...zones.map((z) => `  - domain: ${origin(z.origin)}.`),
    "",
  ].join("\n");
}

async function writeZones(dir: string, port: number, zones: ZoneText[]): Promise<void> {
  const zdir = join(dir, "zones");
  await mkdir(zdir, { recursive: true });
  await mkdir(join(dir, "db"), { recursive: true });
  const keep = new Set(zones.map((z) => `${origin(z.origin)}.zone`));
  for (const f of await readdir(zdir)) if (!keep.has(f)) await rm(join(zdir, f));
  for (const z of zones) await writeFile(join(zdir, `${origin(z.origin)}.zone`), z.text);
  await writeFile(join(dir, "knot.conf"), config(dir, port, zones));
}

function knotc(dir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      findBinary("knotc") ?? "knotc",
      ["-c", join(dir, "knot.conf"), "-s", join(dir, "knot.sock"), "-t", "10", ...args],
      { timeout: 20_000 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`knotc ${args.join(" ")} failed: ${`${stdout}${stderr}`.trim()}`))
          : resolve(stdout),
    );
  });
}

/** Waits (bounded) until every zone answers its SOA through the server. */
async function waitAnswering(
  address: string,
  zones: ZoneText[],
  alive: () => boolean,
  log: () => string,
  timeoutMs: number,
) {
  const r = new Resolver({ timeout: 200, tries: 1 });
  r.setServers([address]);
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (const z of zones) {
    for (;;) {
      if (!alive()) throw new Error(`knotd exited:\n${log()}`);
      try {
        await r.resolveSoa(origin(z.origin));
        break;
      } catch (e) {
        last = String(e);
      }
      if (Date.now() > deadline)
        throw new Error(`knotd at ${address} does not answer for ${z.origin} (${last}):\n${log()}`);
      await sleep(25);
    }
  }
}

export interface StartOptions {
  zones: ZoneText[];
  readyTimeoutMs?: number;
}

export async function startDnsServer(o: StartOptions): Promise<DnsServer> {
  const missing = dnsServerMissing();
  if (missing) throw new DnsServerUnavailableError(missing);
  const timeoutMs = o.readyTimeoutMs ?? 15_000;
  const dir = await mkdtemp(join(tmpdir(), "petrel-dns-"));
  let zones = o.zones;
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      await writeZones(dir, port, zones);
      await knotc(dir, ["zone-check"]); // a bad zone file fails here, with knot's own message
      const output: string[] = [];
      const child: ChildProcess = spawn(findBinary("knotd")!, ["-c", join(dir, "knot.conf")], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      child.stderr?.setEncoding("utf8").on("data", (s: string) => {
        output.push(s);
        if (output.length > 200) output.splice(0, output.length - 200);
      });
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const alive = () => child.exitCode === null && child.signalCode === null;
      const kill = () => {
        if (alive()) child.kill("SIGKILL");
      };
      process.once("exit", kill);
      const address = `127.0.0.1:${port}`;
      try {
        await waitAnswering(address, zones, alive, () => output.join(""), timeoutMs);
      } catch (e) {
        kill();
        await exited;
        process.removeListener("exit", kill);
        if (attempt < 3 && /address already in use/.test(output.join(""))) continue;
        throw e;
      }
      const pid = child.pid!;
      let stopped: Promise<void> | undefined;
      return {
        address,
        pid,
        async reload(next) {
          zones = next;
          await writeZones(dir, port, zones);
          await knotc(dir, ["zone-check"]);
          await knotc(dir, ["reload"]); // picks up added and removed zones
          await knotc(dir, ["-b", "zone-reload"]); // forced: loads even when the serial did not change
          await waitAnswering(address, zones, alive, () => output.join(""), timeoutMs);
        },
        stop() {
          stopped ??= (async () => {
            if (alive()) {
              process.kill(pid, "SIGTERM");
              const t = setTimeout(kill, 5000);
              await exited;
              clearTimeout(t);
            }
            process.removeListener("exit", kill);
            await rm(dir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
