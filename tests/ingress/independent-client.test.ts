/**
 * Acceptance: a real independent client submits over 587 with STARTTLS and AUTH LOGIN, and over
 * 465 with implicit TLS. swaks (Debian package; .ci/run installs it) and Python's smtplib, the
 * exact commands of docs/testing-your-integration.md. Without either tool the test fails in CI
 * and prints a loud SKIP locally.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { HOST, SANDBOX, startRelay } from "./harness.ts";

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function has(cmd: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
}

function missing(tool: string): void {
  if (process.env.CI === "true") throw new Error(`${tool} is required in CI`);
  console.warn(`SKIP: ${tool} not installed; independent-client test not run`);
}

describe("independent SMTP clients", () => {
  it("swaks submits over 587 (STARTTLS, AUTH LOGIN) and over 465 (implicit TLS)", async () => {
    if (!(await has("swaks"))) return missing("swaks");
    const relay = await startRelay(cleanups);
    const common = ["--server", HOST, "--from", "app@shop.example", "--to", `delivered@${SANDBOX}`];
    const auth = [
      "--auth",
      "LOGIN",
      "--auth-user",
      relay.user.username,
      "--auth-password",
      relay.user.password,
    ];
    const starttls = await run("swaks", [
      ...common,
      "--port",
      String(relay.ingress.ports.submission),
      "--tls",
      ...auth,
    ]);
    expect(starttls.stdout).toMatch(/<~ {2}250 2\.0\.0 OK queued as [0-9A-Z]{26}/);
    expect(starttls.stdout).toMatch(/~> AUTH LOGIN/);
    const smtps = await run("swaks", [
      ...common,
      "--port",
      String(relay.ingress.ports.smtps),
      "--tlsc",
      ...auth,
    ]);
    expect(smtps.stdout).toMatch(/<~ {2}250 2\.0\.0 OK queued as [0-9A-Z]{26}/);
    expect((await relay.records()).length).toBe(2);
  });

  it("Python smtplib submits over 587 with STARTTLS and AUTH LOGIN, and over 465", async () => {
    if (!(await has("python3"))) return missing("python3");
    const relay = await startRelay(cleanups);
    const script = `
import smtplib, ssl, sys
host, p587, p465, user, pw, to = sys.argv[1:7]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
msg = "From: app@shop.example\\r\\nTo: %s\\r\\nSubject: smtplib\\r\\n\\r\\nhello\\r\\n" % to
s = smtplib.SMTP(host, int(p587), timeout=20); s.ehlo(); s.starttls(context=ctx); s.ehlo()
s.user, s.password = user, pw
code, _ = s.auth("LOGIN", s.auth_login)
print("login", code)
print("queued", s.sendmail("app@shop.example", [to], msg) == {})
s.quit()
s = smtplib.SMTP_SSL(host, int(p465), timeout=20, context=ctx); s.login(user, pw)
print("queued", s.sendmail("app@shop.example", [to], msg) == {})
s.quit()
`;
    const out = await run("python3", [
      "-c",
      script,
      HOST,
      String(relay.ingress.ports.submission),
      String(relay.ingress.ports.smtps),
      relay.user.username,
      relay.user.password,
      `delivered@${SANDBOX}`,
    ]);
    expect(out.stdout.trim().split("\n")).toEqual(["login 235", "queued True", "queued True"]);
    expect((await relay.records()).length).toBe(2);
  });
});
