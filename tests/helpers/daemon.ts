/**
 * Helpers for the real daemons the suites and benches start (Postfix, Haraka): wait until a
 * listener greets with `220`, stop a child politely then firmly, and make a throw-away
 * self-signed certificate with openssl.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** True once 127.0.0.1:`port` answers with an SMTP `220` greeting; false if `child` exits or ~`tries`×0.1 s pass. */
export async function greets(port: number, child: ChildProcess, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries && child.exitCode === null; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.setTimeout(2_000, () => {
        s.destroy();
        resolve(false);
      });
      s.once("data", (d: Buffer) => {
        s.destroy();
        resolve(d.toString().startsWith("220"));
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

/** SIGTERM, up to 5 s to exit, then SIGKILL. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(5_000)]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

/** `key.pem` + `cert.pem` (RSA 2048, 2 days, CN=`cn`) in `dir`. */
export function selfSignedPair(dir: string, cn: string): Promise<void> {
  const args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${cn}`];
  args.push("-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"));
  return new Promise((resolve, reject) =>
    execFile("openssl", args, (err, _out, stderr) =>
      err ? reject(new Error(`openssl: ${stderr}`)) : resolve(),
    ),
  );
}
