/**
 * The ClickHouse contract over HTTP, the path a cluster uses (PETREL_CLICKHOUSE_URL): against a real
 * server when PETREL_TEST_CLICKHOUSE_URL is set, otherwise against the test stand-in that serves
 * ClickHouse's HTTP interface over the chDB engine (tests/clickhouse/standin.ts). Then the parts of
 * the HTTP interface both Node's `@clickhouse/client` and the edge's `@clickhouse/client-web` rely on:
 * credentials, query parameters (URL and multipart), errors with the server's code, read-only GET,
 * compression. Every check here holds on a server too; the last block is the stand-in's own.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type ClickHouseClient, ClickHouseError, createClient } from "@clickhouse/client";
import { createClient as createWebClient } from "@clickhouse/client-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClickHouseHandle, openClickHouse, toDateTime64 } from "../../shared/clickhouse/client.ts";
import { type ClickHouseEndpoint, startClickHouseEndpoint } from "./standin.ts";
import { storeContract } from "./store.case.ts";

const onServer = !!process.env.PETREL_TEST_CLICKHOUSE_URL;
let started: Promise<ClickHouseEndpoint> | undefined;
const endpoint = () => {
  started ??= startClickHouseEndpoint();
  return started;
};
afterAll(async () => {
  await (await started)?.stop();
});

const openOn = async (ep: ClickHouseEndpoint, database: string) =>
  openClickHouse({
    url: ep.url,
    username: ep.username,
    password: ep.password,
    database,
    dataDir: "unused-over-http",
  });

storeContract(onServer ? "server over HTTP" : "HTTP stand-in over chDB", async () => {
  const ep = await endpoint();
  const databases = new Set<string>();
  return {
    open: (database) => {
      databases.add(database);
      return openOn(ep, database);
    },
    // A server keeps what a run created; the stand-in's directory goes with it.
    cleanup: async () => {
      if (ep.kind !== "server") return;
      const h = await openOn(ep, "default");
      for (const db of databases) await h.client.command({ query: `DROP DATABASE IF EXISTS \`${db}\`` });
      await h.close();
    },
  };
});

describe("ClickHouse HTTP interface", () => {
  let ep: ClickHouseEndpoint;
  let client: ClickHouseClient;
  const post = (params: Record<string, string>, body: string, headers: Record<string, string> = {}) =>
    fetch(`${ep.url}/?${new URLSearchParams(params)}`, {
      method: "POST",
      body,
      headers: { Authorization: basic(ep.username, ep.password), ...headers },
    });
  const rawPost = (search: string, body: string, headers: Record<string, string>) =>
    new Promise<{ encoding: string | undefined; body: Buffer }>((ok, fail) => {
      const req = request(`${ep.url}/${search}`, {
        method: "POST",
        headers: { Authorization: basic(ep.username, ep.password), ...headers },
      });
      req.on("response", async (res) => {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        ok({ encoding: res.headers["content-encoding"], body: Buffer.concat(chunks) });
      });
      req.on("error", fail);
      req.end(body);
    });
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  beforeAll(async () => {
    ep = await endpoint();
    client = createClient({ url: ep.url, username: ep.username, password: ep.password });
  });
  afterAll(async () => {
    await client?.close();
  });

  it("answers /ping and a bare GET / with Ok.", async () => {
    for (const path of ["/ping", "/"]) {
      const res = await fetch(`${ep.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("Ok.\n");
    }
  });

  it("refuses a wrong password or a missing one: 516 AUTHENTICATION_FAILED, HTTP 403", async () => {
    const wrong = createClient({ url: ep.url, username: ep.username, password: `${ep.password}x` });
    const err = await wrong.query({ query: "SELECT 1" }).catch((e: unknown) => e);
    await wrong.close();
    expect(err).toBeInstanceOf(ClickHouseError);
    expect(err).toMatchObject({ code: "516", type: "AUTHENTICATION_FAILED" });

    const res = await fetch(`${ep.url}/?query=SELECT%201`);
    expect(res.status).toBe(403);
    expect(res.headers.get("x-clickhouse-exception-code")).toBe("516");
    expect(await res.text()).toMatch(/^Code: 516\. DB::Exception: .*\(AUTHENTICATION_FAILED\)/);

    await expect(
      openClickHouse({ url: ep.url, username: ep.username, password: "nope", dataDir: "unused" }),
    ).rejects.toThrow(/Authentication failed|AUTHENTICATION_FAILED/);
    // The X-ClickHouse-User/Key headers are the other way a server takes credentials.
    const byHeader = await fetch(`${ep.url}/?query=SELECT%2042`, {
      headers: { "X-ClickHouse-User": ep.username, "X-ClickHouse-Key": ep.password },
    });
    expect(await byHeader.text()).toBe("42\n");
  });

  // Quotes, backslashes, tabs, newlines and an attempt to end the literal: each comes back as sent.
  const hostile = ["it's", "back\\slash", "tab\there", "line\nbreak", "'); DROP TABLE x; --", "ünï ✓", ""];
  const paramsQuery = `SELECT {s:String} AS s, {a:Array(String)} AS a, {n:Nullable(String)} AS n,
    {u:UInt64} AS u, {t:DateTime64(3, 'UTC')} AS t`;
  const when = new Date(Date.UTC(2026, 10, 3, 15, 4, 5, 678));
  const expected = (s: string) => ({
    s,
    a: hostile,
    n: null,
    u: "18446744073709551615",
    t: toDateTime64(when),
  });

  it("binds query parameters on the engine, whatever their content", async () => {
    for (const s of hostile) {
      const rs = await client.query({
        query: paramsQuery,
        query_params: { s, a: hostile, n: null, u: "18446744073709551615", t: toDateTime64(when) },
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      });
      expect(await rs.json()).toEqual([expected(s)]);
    }
  });

  it("takes the query and its parameters from a multipart body too", async () => {
    const multipart = createClient({
      url: ep.url,
      username: ep.username,
      password: ep.password,
      use_multipart_params: true,
    });
    try {
      const rs = await multipart.query({
        query: paramsQuery,
        query_params: {
          s: hostile[4],
          a: hostile,
          n: null,
          u: "18446744073709551615",
          t: toDateTime64(when),
        },
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      });
      expect(await rs.json()).toEqual([expected(hostile[4]!)]);
    } finally {
      await multipart.close();
    }
  });

  it("reports errors with the server's code, type and HTTP status", async () => {
    const err = await client.query({ query: "selec 1" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "62", type: "SYNTAX_ERROR" });
    const cases: [Record<string, string>, string, number, string][] = [
      [{}, "selec 1", 400, "62"],
      [{}, "SELECT * FROM no_such_table", 404, "60"],
      [{ no_such_setting: "1" }, "SELECT 1", 404, "115"],
      [{ database: "no_such_database" }, "SELECT 1", 404, "81"],
      [{}, "SELECT throwIf(1)", 500, "395"],
    ];
    for (const [params, query, status, code] of cases) {
      const res = await post(params, query);
      expect({ query, status: res.status, code: res.headers.get("x-clickhouse-exception-code") }).toEqual({
        query,
        status,
        code,
      });
      expect(await res.text()).toMatch(new RegExp(`^Code: ${code}\\. DB::Exception: `));
    }
  });

  it("runs a GET read-only; the same statement by POST writes", async () => {
    const table = `t_${randomUUID().replaceAll("-", "")}`;
    const create = `CREATE TABLE default.${table} (x UInt8) ENGINE = MergeTree ORDER BY x`;
    const get = await fetch(`${ep.url}/?${new URLSearchParams({ query: create })}`, {
      headers: { Authorization: basic(ep.username, ep.password) },
    });
    expect(get.headers.get("x-clickhouse-exception-code")).toBe("164"); // READONLY
    expect((await post({}, create)).status).toBe(200);
    const read = await fetch(
      `${ep.url}/?${new URLSearchParams({ query: `EXISTS TABLE default.${table}` })}`,
      {
        headers: { Authorization: basic(ep.username, ep.password) },
      },
    );
    expect(await read.text()).toBe("1\n");
    await post({}, `DROP TABLE default.${table}`);
  });

  it("uses default_format unless the query names a FORMAT; TabSeparated otherwise", async () => {
    const q = "SELECT 1 AS x, 'a' AS y";
    expect(await (await post({}, q)).text()).toBe("1\ta\n");
    expect(await (await post({ default_format: "JSONEachRow" }, q)).text()).toBe('{"x":1,"y":"a"}\n');
    expect(await (await post({ default_format: "JSONEachRow" }, `${q} FORMAT CSV`)).text()).toBe('1,"a"\n');
  });

  it("sends X-ClickHouse-Summary and X-ClickHouse-Query-Id", async () => {
    const res = await post({ query_id: "petrel-q-1" }, "SELECT number FROM numbers(1000) WHERE number < 7");
    expect(res.headers.get("x-clickhouse-query-id")).toBe("petrel-q-1");
    const summary = JSON.parse(res.headers.get("x-clickhouse-summary") ?? "{}");
    expect(summary.result_rows).toBe("7");
  });

  it("compresses when asked: gzip request bodies and responses", async () => {
    const gz = createClient({
      url: ep.url,
      username: ep.username,
      password: ep.password,
      compression: { request: true, response: true },
    });
    const h: ClickHouseHandle = await openOn(
      ep,
      `petrel_gz_${randomUUID().replaceAll("-", "").slice(0, 10)}`,
    );
    try {
      await h.client.command({ query: "CREATE TABLE t (k String, v UInt32) ENGINE = MergeTree ORDER BY k" });
      const rows = Array.from({ length: 500 }, (_, i) => ({ k: `key-${i}`, v: i }));
      await gz.insert({ table: `${h.database}.t`, values: rows, format: "JSONEachRow" });
      const rs = await gz.query({
        query: `SELECT toUInt32(sum(v)) AS s FROM ${h.database}.t`,
        format: "JSONEachRow",
      });
      expect(await rs.json()).toEqual([{ s: (499 * 500) / 2 }]);
      // The bytes on the wire (fetch would decode them): gzip, and only when asked for.
      const zipped = await rawPost("?enable_http_compression=1", "SELECT 'zipped'", {
        "Accept-Encoding": "gzip",
      });
      expect(zipped.encoding).toBe("gzip");
      expect(gunzipSync(zipped.body).toString()).toBe("zipped\n");
      const plain = await rawPost("", "SELECT 'plain'", { "Accept-Encoding": "gzip" });
      expect([plain.encoding, plain.body.toString()]).toEqual([undefined, "plain\n"]);
    } finally {
      if (ep.kind === "server") await h.client.command({ query: `DROP DATABASE ${h.database}` });
      await h.close();
      await gz.close();
    }
  });

  it("serves @clickhouse/client-web (the edge's client): rows, parameters and typed errors", async () => {
    const web = createWebClient({ url: ep.url, username: ep.username, password: ep.password });
    try {
      const rs = await web.query({
        query: "SELECT {s:String} AS s, toString({d:Date}) AS d",
        query_params: { s: hostile[4], d: "2026-11-03" },
        format: "JSONEachRow",
      });
      expect(await rs.json()).toEqual([{ s: hostile[4], d: "2026-11-03" }]);
      const err = await web.query({ query: "SELECT * FROM no_such_table" }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "60", type: "UNKNOWN_TABLE" });
      expect(await web.ping()).toEqual({ success: true });
    } finally {
      await web.close();
    }
  });
});

// Checks of the stand-in process itself (its data directory, its own chDB beside a test's): they have
// no meaning against a real server given by PETREL_TEST_CLICKHOUSE_URL, so that run leaves them out.
describe.skipIf(onServer)("the HTTP stand-in itself", () => {
  it("keeps its data in the directory it is given, across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-ch-standin-keep-"));
    const running: ClickHouseEndpoint[] = [];
    try {
      const first = await startClickHouseEndpoint({ dir });
      running.push(first);
      const a = await openOn(first, "kept");
      await a.client.command({ query: "CREATE TABLE t (x UInt32) ENGINE = MergeTree ORDER BY x" });
      await a.client.insert({ table: "t", values: [{ x: 7 }, { x: 35 }], format: "JSONEachRow" });
      await a.close();
      await first.stop();

      const second = await startClickHouseEndpoint({ dir });
      running.push(second);
      const b = await openOn(second, "kept");
      const rs = await b.client.query({ query: "SELECT sum(x) AS s FROM t", format: "JSONEachRow" });
      expect(await rs.json()).toEqual([{ s: "42" }]);
      await b.close();
    } finally {
      for (const e of running) await e.stop(); // stop() is idempotent
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs beside a test process's own chDB engine (the stand-in is another process)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "petrel-ch-local-"));
    const local = await openClickHouse({ dataDir, database: "local" });
    try {
      const remote = await openOn(await endpoint(), "remote");
      const q = "SELECT currentDatabase() AS d";
      const [l] = await (await local.client.query({ query: q, format: "JSONEachRow" })).json<{ d: string }>();
      const [r] = await (await remote.client.query({ query: q, format: "JSONEachRow" })).json<{
        d: string;
      }>();
      expect([local.backend, l!.d, remote.backend, r!.d]).toEqual(["chdb", "local", "server", "remote"]);
      await remote.close();
    } finally {
      await local.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
