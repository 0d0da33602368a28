/**
 * Issue 14 point 8, acceptance: sendEmail (Debian package `sendemail`, a Perl client on
 * IO::Socket::SSL; .ci/run installs it) submits over 587 with STARTTLS and AUTH to 127.0.0.1,
 * verifying the relay's generated self-signed certificate against that certificate as its only CA
 * (pinned: `SSL_CERT_FILE`, which IO::Socket::SSL reads as its CA file; sendEmail has no option
 * of its own for it and cannot switch verification off). Against a certificate that names only
 * the hostname (no IP subjectAltName, as before) the same command fails hostname verification.
 * Without sendEmail the test fails in CI and prints a loud SKIP locally.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { generate } from "selfsigned";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../account/harness.ts";
import { HOST, type Relay, SANDBOX, startRelay } from "./harness.ts";

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const hasSendEmail = () =>
  run("sh", ["-c", "command -v sendEmail"]).then(
    () => true,
    () => false,
  );

function missing(): void {
  if (process.env.CI === "true") throw new Error("sendEmail (Debian package sendemail) is required in CI");
  console.warn("SKIP: sendEmail not installed; pinned-certificate test not run");
}

/** sendEmail over 587 (STARTTLS required, AUTH) to 127.0.0.1, trusting only `caFile`. */
async function sendEmail(relay: Relay, caFile: string): Promise<{ ok: boolean; out: string }> {
  const args = [
    ...["-f", "app@shop.example", "-t", `delivered@${SANDBOX}`, "-u", "pinned", "-m", "hello"],
    ...["-s", `${HOST}:${relay.ingress.ports.submission}`, "-o", "tls=yes"],
    ...["-xu", relay.user.username, "-xp", relay.user.password, "-v"],
  ];
  // A clean environment: no system CA store, no proxy; IO::Socket::SSL's CA file is the pinned certificate.
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    SSL_CERT_FILE: caFile,
    SSL_CERT_DIR: "/nonexistent",
  };
  return run("sendEmail", args, { env, timeout: 30_000 }).then(
    (r) => ({ ok: true, out: r.stdout + r.stderr }),
    (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` }),
  );
}

describe("the generated certificate, pinned by a client that verifies", () => {
  it("sendEmail submits over 587 with STARTTLS + AUTH to 127.0.0.1, verifying the pinned certificate", async () => {
    if (!(await hasSendEmail())) return missing();
    const relay = await startRelay(cleanups);
    expect(relay.tls.generated).toBe(true);
    const caFile = join(tempDir(cleanups), "pinned.pem");
    writeFileSync(caFile, relay.tls.cert);
    const r = await sendEmail(relay, caFile);
    expect(r.out).toMatch(/250 2\.0\.0 OK queued as [0-9A-Z]{26}/);
    expect(r.ok).toBe(true);
    expect((await relay.records()).length).toBe(1);
    // It does verify: pinned to another certificate, the same command is refused.
    const other = await generate([{ name: "commonName", value: "relay.test" }], {
      keyType: "rsa",
      keySize: 2048,
    });
    writeFileSync(caFile, other.cert);
    const wrong = await sendEmail(relay, caFile);
    expect(wrong.ok).toBe(false);
    expect(wrong.out).toMatch(/TLS setup failed: .*certificate verify failed/);
    expect((await relay.records()).length).toBe(1);
  });

  it("the same command fails against a certificate without the IP subjectAltName", async () => {
    if (!(await hasSendEmail())) return missing();
    // The certificate Petrel generated before: the hostname alone.
    const pems = await generate([{ name: "commonName", value: "relay.test" }], {
      keyType: "rsa",
      keySize: 2048,
      algorithm: "sha256",
      extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "relay.test" }] }],
    });
    const cert = Buffer.from(pems.cert);
    expect(new X509Certificate(cert).checkIP("127.0.0.1")).toBeUndefined();
    const relay = await startRelay(cleanups, {
      tls: { key: Buffer.from(pems.private), cert, generated: true, selfSigned: true, sha256: "" },
    });
    const caFile = join(tempDir(cleanups), "pinned.pem");
    writeFileSync(caFile, cert);
    const r = await sendEmail(relay, caFile);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/TLS setup failed: .*hostname verification failed/);
    expect((await relay.records()).length).toBe(0);
  });
});
