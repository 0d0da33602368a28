/**
 * Run under Deno by tests/analytics/edge.test.ts: imports the edge entry and serves requests through
 * its `fetch`. ClickHouse here is a STUB: a tiny HTTP server on loopback that records each query and
 * answers an empty JSONEachRow body (no ClickHouse server can be installed on this machine). It proves
 * the edge path runs on Deno and speaks ClickHouse's HTTP interface scoped by account, not the figures
 * (those are proven on chDB by figures.test.ts / api.test.ts through the same query code).
 */
import edge from "../../edge-api/edge.ts";

declare const Deno: {
  serve(
    o: { port: number; hostname: string; onListen?(a: { port: number }): void },
    h: (r: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void>; addr: { port: number } };
};

const seen: { url: string; body: string }[] = [];
const stub = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
  seen.push({ url: req.url, body: await req.text() });
  return new Response("", {
    headers: { "content-type": "application/x-ndjson", "x-clickhouse-summary": "{}" },
  });
});
const KEY = "pk_edge_test_key";
const hash = Array.from(
  new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(KEY))),
  (b) => b.toString(16).padStart(2, "0"),
).join("");
const keys = JSON.stringify({
  [hash]: { accountId: "acme", timezone: "America/New_York", scopes: ["activity:read"] },
});
const env = { PETREL_CLICKHOUSE_URL: `http://127.0.0.1:${stub.addr.port}`, PETREL_EDGE_KEYS: keys };
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
await stub.shutdown();
// The store gone: the route fails cleanly.
const r5 = await edge.fetch(new Request("http://edge/v1/activity", { headers: auth }), env);
out.storeDown = { status: r5.status, body: await r5.json() };
console.log(JSON.stringify(out));
