/**
 * Run under Deno by tests/analytics/edge.test.ts: imports the edge entry and serves requests through
 * its `fetch`. ClickHouse here is a STUB: a tiny HTTP server on loopback that records each query and
 * answers an empty JSONEachRow body (no ClickHouse server can be installed on this machine). It proves
 * the edge path runs on Deno and speaks ClickHouse's HTTP interface scoped by account, not the figures
 * (those are proven on chDB by figures.test.ts / api.test.ts through the same query code). The stub
 * also plays the edge directory (edge_api_keys / edge_accounts, 0004_edge_directory): one key, HMAC'd
 * under the PETREL_EDGE_HMAC_KEY given to the edge, which the probe then marks revoked. The real rows
 * and figures are proven on chDB by edge-directory.test.ts.
 */
import edge, { edgeFromEnv } from "../../edge-api/edge.ts";

declare const Deno: {
  serve(
    o: { port: number; hostname: string; onListen?(a: { port: number }): void },
    h: (r: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void>; addr: { port: number } };
};

const seen: { url: string; body: string }[] = [];
const directoryQueries: string[] = [];
/** The stub's edge directory: one key of account acme, revoked when `revoked` is 1. */
let revoked = 0;
const KEY = "pk_abcdefghijkl_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const HMAC_KEY = new Uint8Array(32).fill(9);
const hmacKey = await crypto.subtle.importKey("raw", HMAC_KEY, { name: "HMAC", hash: "SHA-256" }, false, [
  "sign",
]);
const hash = Array.from(
  new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode(KEY))),
  (b) => b.toString(16).padStart(2, "0"),
).join("");
const answer = (sql: string, url: string): unknown[] => {
  if (sql.includes("FROM edge_api_keys")) {
    directoryQueries.push(sql);
    return [{ key_hash: revoked ? "" : hash, account_id: "acme", scopes: ["activity:read"], revoked }];
  }
  if (sql.includes("FROM edge_accounts")) {
    directoryQueries.push(sql);
    const start = Date.parse("2026-11-01T04:00:00Z");
    return [
      {
        status: "active",
        timezone: "America/New_York",
        plan: "free",
        quota_limit: "100",
        anchor_day: 1,
        start_ms: String(start),
        end_ms: String(Date.parse("2026-12-01T05:00:00Z")),
        cancel_ms: "-1",
      },
    ];
  }
  seen.push({ url, body: sql });
  return sql.includes("uniqExact(recipient_id) AS used") ? [{ used: "81" }] : [];
};
const stub = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
  const rows = answer(await req.text(), req.url);
  return new Response(rows.map((r) => `${JSON.stringify(r)}\n`).join(""), {
    headers: { "content-type": "application/x-ndjson", "x-clickhouse-summary": "{}" },
  });
});
const env = {
  PETREL_CLICKHOUSE_URL: `http://127.0.0.1:${stub.addr.port}`,
  PETREL_EDGE_HMAC_KEY: btoa(String.fromCharCode(...HMAC_KEY))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, ""),
  PETREL_EDGE_CACHE_MS: "0",
};
const auth = { authorization: `Bearer ${KEY}` };

const out: Record<string, unknown> = {};
const r1 = await edge.fetch(new Request("http://edge/v1/activity"), env);
out.noKey = { status: r1.status, body: await r1.json() };
const r2 = await edge.fetch(
  new Request("http://edge/v1/activity?recipient=a@b.c&limit=5", { headers: auth }),
  env,
);
out.search = { status: r2.status, body: await r2.json() };
out.stubQueries = seen.map((s) => ({ url: s.url, sql: s.body }));
const r3 = await edge.fetch(new Request("http://edge/v1/stats", { headers: auth }), env);
out.noScope = { status: r3.status, body: await r3.json() };
const r4 = await edge.fetch(new Request("http://edge/v1/activity?status=Lost", { headers: auth }), env);
out.badInput = { status: r4.status, body: await r4.json() };
// The quota gauge on an injected clock inside the stored period (2026-11-15), and one past its end,
// where the edge rolls the period forward (2026-12-10 → December's period in New York).
const at = (iso: string) => edgeFromEnv(env, { now: () => Date.parse(iso) });
const q = await at("2026-11-15T12:00:00Z").fetch(new Request("http://edge/v1/quota", { headers: auth }));
out.quota = { status: q.status, body: await q.json() };
const q2 = await at("2026-12-10T12:00:00Z").fetch(new Request("http://edge/v1/quota", { headers: auth }));
out.quotaRolled = { status: q2.status, body: await q2.json() };
out.directoryQueries = directoryQueries;
revoked = 1;
const r6 = await edge.fetch(new Request("http://edge/v1/activity", { headers: auth }), env);
out.revoked = { status: r6.status, body: await r6.json() };
revoked = 0;
await stub.shutdown();
// The store gone: the route fails cleanly.
const r5 = await edge.fetch(new Request("http://edge/v1/activity", { headers: auth }), env);
out.storeDown = { status: r5.status, body: await r5.json() };
console.log(JSON.stringify(out));
