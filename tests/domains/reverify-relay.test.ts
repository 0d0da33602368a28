/**
 * C4 in a running relay (issue 12 point 4): the relay (`npm start`, a child process) starts the
 * domain verifier among its background jobs, so the account actor's periodic re-verification is
 * answered. A real DNS server (Knot) serves the provider zone the relay exports and the customer's
 * three CNAMEs; "Verify now" verifies the domain; then one CNAME is removed from DNS and, with no
 * request from anybody, the periodic check (PETREL_DOMAIN_REVERIFY_HOURS=0.002, 7.2 s) marks it
 * missing and the domain loses its verification. Fails if no verifier job runs in the relay.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRelay, startRelayProcess } from "../cli/relay.ts";
import { type DnsServer, requireDnsServer, startDnsServer, testZone, type ZoneText } from "../dns/server.ts";
import { waitFor } from "../helpers/wait.ts";

const PROVIDER = "petrel.test";
const TOKEN = "reverify-test-admin-token-0123456789";
const available = requireDnsServer(
  "periodic re-verification in a relay (tests/domains/reverify-relay.test.ts)",
);

interface DomainView {
  domain: string;
  status: string;
  records: { kind: string; name: string; type: string; value: string; status: string; detail?: string }[];
}

describe.skipIf(!available)("periodic domain re-verification in a running relay (C4)", () => {
  let dns: DnsServer;
  let relay: RunningRelay;
  let accountId = "";
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${relay.api}/v1/admin${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...init.headers },
    });
  const json = async <T>(r: Promise<Response>, status = 200): Promise<T> => {
    const res = await r;
    const body = await res.text();
    expect(res.status, body).toBe(status);
    return JSON.parse(body) as T;
  };
  const customerZone = (d: DomainView, kinds: string[]): ZoneText =>
    testZone(
      d.domain,
      d.records.filter((r) => kinds.includes(r.kind)).map((r) => `${r.name}. IN CNAME ${r.value}.`),
    );
  const providerZone = async (): Promise<ZoneText> => {
    const res = await api("/zone");
    expect(res.status).toBe(200);
    return { origin: PROVIDER, text: await res.text() };
  };

  beforeAll(async () => {
    dns = await startDnsServer({ zones: [testZone("placeholder.test", [])] });
    relay = await startRelayProcess({
      PETREL_ADMIN_TOKEN: TOKEN,
      PETREL_DNS_SERVERS: dns.address,
      PETREL_PROVIDER_DOMAIN: PROVIDER,
      PETREL_DOMAIN_REVERIFY_HOURS: "0.002",
    });
    accountId = (
      await json<{ accountId: string }>(
        api("/accounts", { method: "POST", body: JSON.stringify({ name: "Shop", plan: "starter" }) }),
        201,
      )
    ).accountId;
  }, 180_000);

  afterAll(async () => {
    await relay?.stop();
    await dns?.stop();
  });

  it("a CNAME removed from DNS is noticed by the periodic check, and the domain loses its verification", async () => {
    const added = await json<DomainView>(
      api(`/accounts/${accountId}/domains`, {
        method: "POST",
        body: JSON.stringify({ domain: "shop.example" }),
      }),
      201,
    );
    expect(added.records.map((r) => r.kind)).toEqual(["dkim1", "dkim2", "return_path"]);
    await dns.reload([await providerZone(), customerZone(added, ["dkim1", "dkim2", "return_path"])]);
    const verified = await json<DomainView>(
      api(`/accounts/${accountId}/domains/shop.example/verify`, { method: "POST", body: "{}" }),
    );
    expect(verified.status).toBe("verified");

    await dns.reload([await providerZone(), customerZone(added, ["dkim1", "return_path"])]);
    const failed = await waitFor(
      async () => {
        const d = await json<DomainView>(api(`/accounts/${accountId}/domains/shop.example`));
        return d.status === "failed" ? d : undefined;
      },
      { what: "the periodic re-verification to fail the domain", timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(failed.records.map((r) => [r.kind, r.status])).toEqual([
      ["dkim1", "verified"],
      ["dkim2", "missing"],
      ["return_path", "verified"],
    ]);
    expect(relay.output()).toContain('"msg":"domain checked"');
  }, 120_000);
});
