/**
 * `petrel activity`, `petrel stats`, `petrel quota` (O4) against `npm start` (the relay with its event
 * sink running): JSON on stdout, a one-line error and non-zero exit on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { petrel, type RunningRelay, startRelayProcess } from "../cli/relay.ts";
import { freePort } from "../helpers/ports.ts";

let relay: RunningRelay;
let env: Record<string, string>;
let accountId: string;

beforeAll(async () => {
  relay = await startRelayProcess({ PETREL_DNS_SERVERS: `127.0.0.1:${await freePort()}` });
  env = { PETREL_DATA_DIR: relay.dataDir, PETREL_HTTP_PORT: String(relay.httpPort) };
  const r = await petrel(
    ["account", "create", "--name", "CLI", "--plan", "starter", "--timezone", "Europe/Paris"],
    env,
  );
  expect(r.stderr).toBe("");
  accountId = r.json().accountId;
}, 240_000);

afterAll(async () => {
  await relay?.stop();
}, 60_000);

describe("petrel activity | stats | quota", () => {
  it("quota → the A7 gauge", async () => {
    const r = await petrel(["quota", "--account", accountId], env);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.json()).toMatchObject({ used: 0, percent: 0, band: "blue" });
  });

  it("activity → { rows } (empty for a new account)", async () => {
    const r = await petrel(
      ["activity", "--account", accountId, "--status", "Delivered", "--recipient", "a@b.c"],
      env,
    );
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.json()).toEqual({ rows: [] });
  });

  it("stats --period 30d → the KPIs with their changes (zero previous → null)", async () => {
    const r = await petrel(["stats", "--account", accountId, "--period", "30d"], env);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const body = r.json();
    expect(body.kpis.totalRecipients).toEqual({ value: 0, previous: 0, change: null });
    // A5: no recipient with a final status → no rate (null, "—" on the Dashboard), never 0 %.
    expect(body.kpis.deliveryRate).toEqual({ value: null, previous: null, change: null });
    expect(body.testRecipients).toEqual({ count: 0, included: false });
    expect(body.series.bucket).toBe("day");
    expect(body.series.points).toHaveLength(30);
    expect(body.period.timezone).toBe("Europe/Paris");
  });

  it("stats --include-tests → the switch reaches the API (tests=include)", async () => {
    const r = await petrel(["stats", "--account", accountId, "--include-tests"], env);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.json().testRecipients).toEqual({ count: 0, included: true });
  });

  it("a bad period fails with one line on stderr", async () => {
    const r = await petrel(["stats", "--account", accountId, "--period", "90d"], env);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^petrel: [^\n]*period[^\n]*\n$/);
  });
});
