/**
 * A real Postfix (Debian package `postfix`) as a recipient MX for tests, started from a private
 * config dir on a loopback port: `postfix -c <dir> start-fg` as a child process we stop by PID.
 *
 * - `virtual_mailbox_domains` + a Maildir per listed user (`users`): delivered mail lands in
 *   `<dir>/mail/<domain>/<user>/new/`;
 * - an unlisted user gets Postfix's own `550 5.1.1 ... User unknown in virtual mailbox table`;
 * - `access`: per-recipient replies (e.g. `450 4.2.0 ...`), rewritten by `setAccess` + reload;
 * - `aliases`: an accepted address rewritten to a mailbox that does not exist: Postfix accepts,
 *   then sends a non-delivery report (`5.1.1`) to the Return-Path;
 * - `transport`: the return-path hosts' route to Petrel's bounce listener.
 *
 * Without Postfix: a loud SKIP locally, a failure under CI (like tests/dns/server.ts).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { greets, selfSignedPair, stopChild } from "../helpers/daemon.ts";
import { freePort } from "../helpers/ports.ts";

export const POSTFIX_PACKAGE = "postfix";
const POSTFIX = ["/usr/sbin/postfix", "/sbin/postfix"].find((p) => existsSync(p));

export function postfixMissing(): string | undefined {
  if (!POSTFIX)
    return `postfix not found: install the Debian package "${POSTFIX_PACKAGE}" (apt-get install ${POSTFIX_PACKAGE})`;
  if (!existsSync("/usr/lib/python3/dist-packages/dkim") || !existsSync("/usr/lib/python3/dist-packages/dns"))
    return "the DKIM verifier needs the Debian packages python3-dkim and python3-dnspython";
  return undefined;
}

export function requirePostfix(suite: string): boolean {
  const why = postfixMissing() ?? (process.getuid?.() !== 0 ? "Postfix harness needs root" : undefined);
  if (!why) return true;
  if (process.env.CI) throw new Error(`CI needs a real Postfix for ${suite}: ${why}`);
  console.warn(`\n${"!".repeat(78)}\n[petrel tests] SKIP ${suite}: ${why}\n${"!".repeat(78)}\n`);
  return false;
}

export interface PostfixOptions {
  /** Domains this Postfix is the final destination of. */
  domains: string[];
  /** Mailboxes (`user@domain`) that exist. */
  users: string[];
  /** `address-or-domain → transport` (transport(5)). */
  transport?: Record<string, string>;
  /** `address → address` (virtual(5)), applied after the RCPT was accepted. */
  aliases?: Record<string, string>;
  /** `address → action` (access(5)), e.g. `450 4.2.0 Try again later`. */
  access?: Record<string, string>;
  /** Offer SMTPUTF8 (RFC 6531) and take UTF-8 addresses (default false). */
  smtputf8?: boolean;
  /** Offer STARTTLS (default true); off, a test can read the session on the wire. */
  starttls?: boolean;
  /** Offer PIPELINING (RFC 2920; default true); off, it is dropped from the EHLO reply. */
  pipelining?: boolean;
}

export interface Postfix {
  port: number;
  dir: string;
  pid: number;
  /** Raw messages delivered to `user@domain`, oldest first. */
  mailbox(address: string): Promise<string[]>;
  setAccess(access: Record<string, string>): Promise<void>;
  /** Lines of Postfix's own log. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

const NOBODY = 65534;

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, (err, stdout, stderr) =>
      err ? reject(new Error(`${file} ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

/**
 * Waits (at most `ms`) until no client holds a session on `port`: an smtpd reads its tables when
 * it starts and keeps them for the session, so a connection a client keeps open (Petrel pools its
 * connections, closing them after 5 s idle) would still be answered from the old table.
 */
async function sessionsEnded(port: number, ms = 20_000): Promise<void> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const until = Date.now() + ms; Date.now() < until; ) {
    const tcp = await readFile("/proc/net/tcp", "utf8").catch(() => "");
    // "sl local_address rem_address st …": local 0100007F:<port>, state 01 = ESTABLISHED.
    const open = tcp.split("\n").some((l) => {
      const f = l.trim().split(/\s+/);
      return f[1]?.endsWith(`:${hexPort}`) && f[3] === "01";
    });
    if (!open) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`a session on port ${port} stayed open ${ms} ms after the table changed`);
}

const table = (t: Record<string, string>) =>
  `${Object.entries(t)
    .map(([k, v]) => `${k} ${v}`)
    .join("\n")}\n`;

function mainCf(dir: string, o: PostfixOptions): string {
  return [
    "compatibility_level = 3.6",
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    "mail_owner = postfix",
    "setgid_group = postdrop",
    "myhostname = mx.postfix.test",
    "mydomain = postfix.test",
    "myorigin = $mydomain",
    "mydestination =",
    "inet_interfaces = 127.0.0.1",
    "inet_protocols = ipv4",
    "mynetworks = 127.0.0.0/8",
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    "alias_maps =",
    "alias_database =",
    "local_recipient_maps =",
    `virtual_mailbox_domains = ${o.domains.join(", ")}`,
    `virtual_mailbox_base = ${dir}/mail`,
    `virtual_mailbox_maps = texthash:${dir}/vmailbox`,
    `virtual_uid_maps = static:${NOBODY}`,
    `virtual_gid_maps = static:${NOBODY}`,
    `transport_maps = texthash:${dir}/transport`,
    `virtual_alias_maps = texthash:${dir}/valias`,
    `smtpd_recipient_restrictions = check_recipient_access texthash:${dir}/access, reject_unauth_destination`,
    `smtpd_tls_security_level = ${o.starttls === false ? "none" : "may"}`,
    `smtpd_tls_cert_file = ${dir}/cert.pem`,
    `smtpd_tls_key_file = ${dir}/key.pem`,
    "smtp_tls_security_level = none",
    "smtp_dns_support_level = disabled",
    "disable_dns_lookups = yes",
    `smtputf8_enable = ${o.smtputf8 ? "yes" : "no"}`,
    ...(o.pipelining === false ? ["smtpd_discard_ehlo_keywords = pipelining"] : []),
    "queue_run_delay = 1s",
    "minimal_backoff_time = 1s",
    "maximal_backoff_time = 2s",
    "delay_warning_time = 0",
    "smtpd_client_connection_count_limit = 0",
    "",
  ].join("\n");
}

/** master.cf of a private instance: one smtpd on 127.0.0.1:`port`, the usual services. */
export const MASTER_CF = (port: number) =>
  [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    "pickup unix n - n 60 1 pickup",
    "cleanup unix n - n - 0 cleanup",
    "qmgr unix n - n 300 1 qmgr",
    "tlsmgr unix - - n 1000? 1 tlsmgr",
    "rewrite unix - - n - - trivial-rewrite",
    "bounce unix - - n - 0 bounce",
    "defer unix - - n - 0 bounce",
    "trace unix - - n - 0 bounce",
    "verify unix - - n - 1 verify",
    "flush unix n - n 1000? 0 flush",
    "proxymap unix - - n - - proxymap",
    "smtp unix - - n - - smtp",
    "relay unix - - n - - smtp",
    "showq unix n - n - - showq",
    "error unix - - n - - error",
    "retry unix - - n - - error",
    "discard unix - - n - - discard",
    "virtual unix - n n - - virtual",
    "anvil unix - - n - 1 anvil",
    "scache unix - - n - 1 scache",
    "postlog unix-dgram n - n - 1 postlogd",
    "",
  ].join("\n");

export async function startPostfix(o: PostfixOptions): Promise<Postfix> {
  if (!POSTFIX) throw new Error(postfixMissing());
  const dir = await mkdtemp(join(tmpdir(), "petrel-postfix-"));
  await chmod(dir, 0o755);
  await selfSignedPair(dir, "mx.postfix.test");
  await mkdir(join(dir, "mail"), { recursive: true });
  await mkdir(join(dir, "queue"), { recursive: true });
  await mkdir(join(dir, "data"), { recursive: true });
  await chown(join(dir, "data"), ...(await postfixIds()));
  await chown(join(dir, "mail"), NOBODY, NOBODY);
  const vmailbox: Record<string, string> = {};
  for (const u of o.users) {
    const [local, domain] = u.split("@") as [string, string];
    vmailbox[u] = `${domain}/${local}/`;
  }
  await writeFile(join(dir, "vmailbox"), table(vmailbox));
  await writeFile(join(dir, "transport"), table(o.transport ?? {}));
  await writeFile(join(dir, "access"), table(o.access ?? {}));
  await writeFile(join(dir, "valias"), table(o.aliases ?? {}));
  let lastError: unknown;
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    await writeFile(join(dir, "main.cf"), mainCf(dir, o));
    await writeFile(join(dir, "master.cf"), MASTER_CF(port));
    await run(POSTFIX, ["-c", dir, "check"]); // creates the queue directories
    const child = spawn(POSTFIX, ["-c", dir, "start-fg"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (c) => (stderr += String(c)));
    child.stdout?.on("data", (c) => (stderr += String(c)));
    if (await greets(port, child)) return handle(dir, port, child);
    await run(POSTFIX, ["-c", dir, "stop"]).catch(() => undefined);
    lastError = new Error(
      `postfix did not start: ${stderr}\n${await readFile(join(dir, "maillog"), "utf8").catch(() => "")}`,
    );
    await stopChild(child);
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function postfixIds(): Promise<[number, number]> {
  const uid = Number((await run("id", ["-u", "postfix"])).trim());
  const gid = Number((await run("id", ["-g", "postfix"])).trim());
  return [uid, gid];
}

function handle(dir: string, port: number, child: ChildProcess): Postfix {
  return {
    port,
    dir,
    pid: child.pid as number,
    async mailbox(address) {
      const [local, domain] = address.split("@") as [string, string];
      const box = join(dir, "mail", domain, local, "new");
      const files = existsSync(box) ? (await readdir(box)).sort() : [];
      return Promise.all(files.map((f) => readFile(join(box, f), "utf8")));
    },
    async setAccess(access) {
      await writeFile(join(dir, "access"), table(access));
      await run(POSTFIX as string, ["-c", dir, "reload"]);
      await sessionsEnded(port);
    },
    log: () => readFile(join(dir, "maillog"), "utf8").catch(() => ""),
    async stop() {
      // `postfix stop` signals the master by its pid file; the start-fg wrapper then exits.
      await run(POSTFIX as string, ["-c", dir, "stop"]).catch(() => undefined);
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
