/**
 * The Postfix peer of the ingress benchmark (issue 4 "Measure"): the Debian `postfix` package as
 * a private submission server on a loopback port, doing the work Petrel's ingress does —
 * STARTTLS required, AUTH PLAIN/LOGIN after TLS (Cyrus SASL with a sasldb file, Debian packages
 * `libsasl2-modules` + `sasl2-bin`), every message fsync'd into its own queue before `250` — and
 * nothing else: accepted mail goes to the hold queue (`smtpd_data_restrictions =
 * check_client_access static:HOLD`), so no delivery runs during the measurement. Relay mode
 * (`relayTo`, the delivery bench of issue 5) relays everything to a sink on loopback instead,
 * optionally through an OpenDKIM signing milter (`dkim`).
 *
 * Started as `postfix -c <dir> start-fg` (a child we stop by PID and `postfix stop`); CPU is the
 * master's process tree (live processes plus the children it reaped), like /proc accounting.
 * Without `saslpasswd2` it runs with TLS only and says so (`auth: false`).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MASTER_CF } from "../delivery/postfix.ts";
import { greets, selfSignedPair, stopChild } from "../helpers/daemon.ts";
import { freePort } from "../helpers/ports.ts";

const POSTFIX = ["/usr/sbin/postfix", "/sbin/postfix"].find((p) => existsSync(p));
const SASLPASSWD2 = ["/usr/sbin/saslpasswd2", "/usr/bin/saslpasswd2"].find((p) => existsSync(p));
const REALM = "bench.test";

export interface PostfixPeer {
  port: number;
  pid: number;
  /** false when Cyrus SASL could not be set up: the peer then does TLS without AUTH. */
  auth: boolean;
  creds: { username: string; password: string };
  version: string;
  /** CPU seconds of the whole Postfix process tree so far. */
  cpuSeconds(): number;
  /** Sum of the peak RSS of the live Postfix processes, MiB. */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

export function postfixPeerMissing(): string | undefined {
  if (!POSTFIX) return "postfix not found (apt-get install postfix)";
  if (process.getuid?.() !== 0) return "the Postfix peer needs root";
  return undefined;
}

function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = execFile(file, args, (err, stdout, stderr) =>
      err ? reject(new Error(`${file} ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
    );
    if (input !== undefined) p.stdin?.end(input);
  });
}

/** Relay mode (issue 5 delivery bench): accepted mail is relayed to a sink instead of held. */
export interface PostfixPeerOptions {
  /** Relay every message to `[127.0.0.1]:relayTo` (plain SMTP, no DNS) instead of holding it. */
  relayTo?: number;
  /**
   * With `relayTo`: sign with OpenDKIM (Debian `opendkim`, a milter on a loopback port, its own
   * 2048-bit key for the From domain `shop.example`); its CPU counts with Postfix's.
   */
  dkim?: boolean;
}

const OPENDKIM = ["/usr/sbin/opendkim", "/sbin/opendkim"].find((p) => existsSync(p));

export function openDkimMissing(): string | undefined {
  return OPENDKIM ? undefined : "opendkim not found (apt-get install opendkim)";
}

/** OpenDKIM as a signing milter on a free loopback port, for `shop.example`, selector `pf1`. */
async function startOpenDkim(dir: string): Promise<{ port: number; child: ChildProcess }> {
  if (!OPENDKIM) throw new Error(openDkimMissing());
  const key = join(dir, "dkim.key");
  await run("openssl", ["genrsa", "-out", key, "2048"]);
  await chmod(key, 0o600);
  const port = await freePort();
  const conf = join(dir, "opendkim.conf");
  await writeFile(
    conf,
    [
      "Syslog no",
      "Mode s",
      "Domain shop.example",
      "Selector pf1",
      `KeyFile ${key}`,
      `Socket inet:${port}@127.0.0.1`,
      "Canonicalization relaxed/relaxed",
      "InternalHosts 127.0.0.1",
      // the key lives under /tmp (world-writable): allowed for this private benchmark instance
      "RequireSafeKeys false",
      `PidFile ${dir}/opendkim.pid`,
      "",
    ].join("\n"),
  );
  const child = spawn(OPENDKIM, ["-f", "-x", conf], { stdio: ["ignore", "inherit", "inherit"] });
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return { port, child };
    await sleep(100);
  }
  await stopChild(child);
  throw new Error("opendkim did not start");
}

function mainCf(dir: string, auth: boolean, o: PostfixPeerOptions = {}, milterPort?: number): string {
  return [
    "compatibility_level = 3.6",
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    "mail_owner = postfix",
    "setgid_group = postdrop",
    "myhostname = submission.postfix.test",
    "mydomain = postfix.test",
    "mydestination =",
    "inet_interfaces = 127.0.0.1",
    "inet_protocols = ipv4",
    // Not trusted by address: relaying needs AUTH (or, without SASL, this peer allows loopback).
    auth ? "mynetworks = 192.0.2.1/32" : "mynetworks = 127.0.0.0/8",
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    "alias_maps =",
    "alias_database =",
    "local_recipient_maps =",
    "smtpd_peername_lookup = no",
    "disable_dns_lookups = yes",
    "smtp_dns_support_level = disabled",
    "smtputf8_enable = no",
    "smtpd_tls_security_level = encrypt",
    `smtpd_tls_cert_file = ${dir}/cert.pem`,
    `smtpd_tls_key_file = ${dir}/key.pem`,
    "smtpd_tls_protocols = >=TLSv1.2",
    "smtpd_tls_auth_only = yes",
    ...(auth
      ? [
          "smtpd_sasl_auth_enable = yes",
          "smtpd_sasl_type = cyrus",
          "smtpd_sasl_path = smtpd",
          `cyrus_sasl_config_path = ${dir}/sasl`,
          "smtpd_sasl_security_options = noanonymous",
          "smtpd_relay_restrictions = permit_sasl_authenticated, reject",
        ]
      : ["smtpd_relay_restrictions = permit_mynetworks, reject"]),
    "smtpd_recipient_restrictions =",
    ...(o.relayTo === undefined
      ? // Intake only: every accepted message is parked in the hold queue, never delivered.
        ["smtpd_data_restrictions = check_client_access static:HOLD"]
      : // Relay: everything to the sink; Postfix's default concurrency (20 per destination).
        [`relayhost = [127.0.0.1]:${o.relayTo}`, "smtp_tls_security_level = none"]),
    ...(milterPort === undefined
      ? []
      : [`smtpd_milters = inet:127.0.0.1:${milterPort}`, "milter_default_action = tempfail"]),
    "smtpd_client_connection_count_limit = 0",
    "smtpd_client_connection_rate_limit = 0",
    "smtpd_client_message_rate_limit = 0",
    "default_process_limit = 200",
    "",
  ].join("\n");
}

export async function startPostfixPeer(o: PostfixPeerOptions = {}): Promise<PostfixPeer> {
  const missing = postfixPeerMissing();
  if (missing || !POSTFIX) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), "petrel-bench-postfix-"));
  await chmod(dir, 0o755);
  await selfSignedPair(dir, "submission.postfix.test");
  for (const d of ["queue", "data", "sasl"]) await mkdir(join(dir, d), { recursive: true });
  const uid = Number((await run("id", ["-u", "postfix"])).trim());
  const gid = Number((await run("id", ["-g", "postfix"])).trim());
  await chown(join(dir, "data"), uid, gid);
  const creds = { username: `bench@${REALM}`, password: "bench-password-1" };
  let auth = false;
  if (SASLPASSWD2) {
    const db = join(dir, "sasl", "sasldb2");
    await writeFile(
      join(dir, "sasl", "smtpd.conf"),
      `pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: ${db}\n`,
    );
    await run(SASLPASSWD2, ["-f", db, "-c", "-p", "-u", REALM, "bench"], creds.password);
    await chown(db, uid, gid);
    auth = true;
  }
  const version = (await run("/usr/sbin/postconf", ["-d", "-h", "mail_version"])).trim();
  const dkim = o.relayTo !== undefined && o.dkim ? await startOpenDkim(dir) : undefined;
  let lastError: unknown;
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    await writeFile(join(dir, "main.cf"), mainCf(dir, auth, o, dkim?.port));
    await writeFile(join(dir, "master.cf"), MASTER_CF(port));
    await run(POSTFIX, ["-c", dir, "check"]);
    const child = spawn(POSTFIX, ["-c", dir, "start-fg"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stderr?.on("data", (c) => (out += String(c)));
    child.stdout?.on("data", (c) => (out += String(c)));
    if (await greets(port, child)) {
      const p = peer(dir, port, child, auth, creds, version);
      if (!dkim) return p;
      const milter = dkim.child.pid as number;
      return {
        ...p,
        cpuSeconds: () => p.cpuSeconds() + treeCpuSeconds(milter),
        peakRssMiB: () => p.peakRssMiB() + treePeakRssMiB(milter),
        async stop() {
          await stopChild(dkim.child);
          await p.stop();
        },
      };
    }
    await run(POSTFIX, ["-c", dir, "stop"]).catch(() => undefined);
    lastError = new Error(`postfix did not start: ${out}`);
    await stopChild(child);
  }
  if (dkim) await stopChild(dkim.child);
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

interface Proc {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, clock ticks. */
  ticks: number;
}

function procs(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const f = readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      out.push({
        pid: Number(name),
        ppid: Number(f[1]),
        ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
      });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The process tree under `root` (included). */
function tree(root: number): Proc[] {
  const all = procs();
  const kids = new Map<number, Proc[]>();
  for (const p of all) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const walk = (pid: number) => {
    const self = all.find((p) => p.pid === pid);
    if (self) out.push(self);
    for (const k of kids.get(pid) ?? []) walk(k.pid);
  };
  walk(root);
  return out;
}

/** CPU seconds of the process tree under `pid` (live processes and the children they reaped). */
export function treeCpuSeconds(pid: number): number {
  return tree(pid).reduce((s, p) => s + p.ticks, 0) / 100;
}

/** Sum of the peak RSS of the live processes under `pid`, MiB. */
export function treePeakRssMiB(pid: number): number {
  return tree(pid).reduce((s, p) => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"));
      return s + (m ? Number(m[1]) / 1024 : 0);
    } catch {
      return s;
    }
  }, 0);
}

function peer(
  dir: string,
  port: number,
  child: ChildProcess,
  auth: boolean,
  creds: PostfixPeer["creds"],
  version: string,
): PostfixPeer {
  const pid = child.pid as number;
  return {
    port,
    pid,
    auth,
    creds,
    version,
    cpuSeconds: () => treeCpuSeconds(pid),
    peakRssMiB: () => treePeakRssMiB(pid),
    async stop() {
      await run(POSTFIX as string, ["-c", dir, "stop"]).catch(() => undefined);
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
