/**
 * Operator first run (issue 14, O1/O4): the relay's one human-readable line on stderr, the
 * `petrel init` it suggests (run exactly as printed) whose administrator signs in, global options
 * before or after the command, `--status` by name or seed label in any case, and `--help` naming
 * the permissions. Against a real `npm start`, like cli.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readyLine } from "../../shared/cli/first-run.ts";
import { PERMISSIONS } from "../../shared/model/account/protocol.ts";
import { type CliRun, petrel, type RunningRelay, startRelayProcess } from "./relay.ts";

let relay: RunningRelay;
let env: Record<string, string>;
let accountId: string;

async function ok(args: string[]): Promise<CliRun> {
  const r = await petrel(args, env);
  if (r.code !== 0) throw new Error(`petrel ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe("");
  return r;
}

beforeAll(async () => {
  relay = await startRelayProcess();
  env = { PETREL_DATA_DIR: relay.dataDir, PETREL_HTTP_PORT: String(relay.httpPort) };
}, 240_000);

afterAll(async () => {
  await relay?.stop();
}, 60_000);

describe("the ready line (pure)", () => {
  const base = { host: "0.0.0.0", port: 8080, dataDir: "./data", adminTokenSet: false };
  it.each([
    [
      base,
      0,
      "Petrel is ready. Dashboard: http://127.0.0.1:8080/ — first account and administrator: npx petrel init --email you@example.com\n",
    ],
    [base, 1, "Petrel is ready. Dashboard: http://127.0.0.1:8080/\n"],
    [
      { ...base, host: "10.0.0.5", port: 9000, dataDir: "/var/lib/petrel data" },
      0,
      "Petrel is ready. Dashboard: http://10.0.0.5:9000/ — first account and administrator: PETREL_DATA_DIR='/var/lib/petrel data' npx petrel init --email you@example.com --api http://10.0.0.5:9000\n",
    ],
    [
      { ...base, host: "::", dataDir: "/srv/petrel", adminTokenSet: true },
      0,
      "Petrel is ready. Dashboard: http://[::1]:8080/ — first account and administrator: npx petrel init --email you@example.com --api http://[::1]:8080\n",
    ],
  ])("%o with %i accounts", (o, accounts, line) => {
    expect(readyLine({ ...o, accounts })).toBe(line);
  });
});

describe("operator first run", () => {
  it("the relay prints one human-readable line with the dashboard and the init command", async () => {
    const pattern =
      /^Petrel is ready\. Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/ — first account and administrator: (.+)$/m;
    await vi.waitFor(() => expect(relay.output()).toMatch(pattern), { timeout: 5_000 });
    const [, dashboard] = relay.output().match(pattern) as RegExpMatchArray;
    expect(dashboard).toBe(relay.api);
    expect(relay.output().match(/Petrel is ready/g)).toHaveLength(1);
  });

  it("petrel init, run as the line prints it → an account and an administrator who signs in", async () => {
    const printed = (relay.output().match(/first account and administrator: (.+)$/m) as RegExpMatchArray)[1];
    const words = (printed as string).replace("you@example.com", "Owner@First.test").split(" ");
    const lineEnv: Record<string, string> = {};
    while (/^[A-Z_]+=/.test(words[0] as string)) {
      const [k, v] = (words.shift() as string).split(/=(.*)/s) as [string, string];
      lineEnv[k] = v;
    }
    expect(words.slice(0, 3)).toEqual(["npx", "petrel", "init"]);
    // The CLI's environment is only what the line says (no PETREL_HTTP_PORT): --api is in it.
    const r = await petrel(words.slice(2), lineEnv, { npx: true });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = r.json();
    expect(out).toMatchObject({
      dashboard: `${relay.api}/`,
      name: "first.test",
      plan: "free",
      signIn: { email: "owner@first.test" },
    });
    expect(out.accountId).toMatch(/^acc_/);
    expect(out.signIn.password).toEqual(expect.any(String));
    expect(out.nextSteps.join("\n")).toMatch(
      /petrel domain add --account acc_\w+ .*\n.*\n.*petrel smtp-user create/,
    );
    accountId = out.accountId;
    const signIn = await fetch(`${relay.api}/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "owner@first.test", password: out.signIn.password }),
    });
    expect(signIn.status).toBe(201);
    expect(await signIn.json()).toMatchObject({ accountId, role: "admin" });
  });

  it("petrel init with a bad email refuses before creating anything", async () => {
    const r = await petrel(["init", "--email", "nobody"], env);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toMatch(/^petrel: init: --email: expected an address[^\n]*\n$/);
  });

  it("--api before the command, after it, and between its words", async () => {
    for (const args of [
      ["--api", relay.api, "plan", "list"],
      ["plan", "list", "--api", relay.api],
      [`--api=${relay.api}`, "plan", "list"],
    ]) {
      // No PETREL_HTTP_PORT: the default port would be wrong, so --api must have been taken.
      const r = await petrel(args, { PETREL_DATA_DIR: relay.dataDir });
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(r.json().plans.map((p: { name: string }) => p.name)).toContain("free");
    }
  });

  it("--status by name or seed label, in any case; an unknown one is a one-line usage error", async () => {
    for (const status of ["delivered", "Soft bounce", "soft bounce", "HARDBOUNCE", "Deferred,rejected"]) {
      const r = await ok(["activity", "--account", accountId, "--status", status]);
      expect(r.json().rows).toEqual([]);
    }
    const bad = await petrel(["activity", "--account", accountId, "--status", "bounced"], env);
    expect({ code: bad.code, stdout: bad.stdout }).toEqual({ code: 2, stdout: "" });
    expect(bad.stderr).toMatch(
      /^petrel: activity: --status "bounced" is not a status; expected one of [^\n]+\n$/,
    );
    for (const name of ["Delivered", "SoftBounce", '"Soft bounce"', "HardBounce"])
      expect(bad.stderr).toContain(name);
  });

  it("--help lists the roles and every permission name", async () => {
    const r = await petrel(["--help"], env);
    expect(r.code).toBe(0);
    for (const p of PERMISSIONS)
      expect(r.stdout).toMatch(new RegExp(`^ +${p.replace(".", "\\.")} +\\S`, "m"));
    expect(r.stdout).toMatch(/admin \(everything\), regular \(/);
    expect(r.stdout).toContain("petrel init --email EMAIL");
  });
});
