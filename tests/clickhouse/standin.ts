/**
 * A ClickHouse endpoint for the tests: a real server when `PETREL_TEST_CLICKHOUSE_URL` is set,
 * otherwise this file's STAND-IN — ClickHouse's HTTP interface served over the embedded chDB engine.
 * A ClickHouse server cannot be installed from the registries this project may use (Debian ships
 * 18.16, without DateTime64); the stand-in lets the HTTP path (`openClickHouse({ url })`,
 * `@clickhouse/client-web` at the edge) run against the real engine. It is a test stand-in, not a
 * server to deploy: one user, no sessions, no roles, loopback only.
 *
 * What it serves, as a server does (docs/en/interfaces/http.md):
 * - `GET /ping` and `GET /` without a query: `Ok.\n`.
 * - `POST /` (and read-only `GET /`): the query from the `query` URL parameter followed by the body
 *   (`INSERT … FORMAT JSONEachRow` + rows), or the body alone; `multipart/form-data` bodies with
 *   `query` and `param_<name>` parts; gzip/deflate request bodies; gzip responses when
 *   `enable_http_compression=1` and the client accepts gzip.
 * - `database` (or `X-ClickHouse-Database`), `default_format` (or `X-ClickHouse-Format`; default
 *   TabSeparated; a FORMAT clause wins), `query_id`; every other URL parameter is a setting for this
 *   request only.
 * - `param_<name>`: handed to the engine as query parameters (`SET param_<name> = '<value>'`), so the
 *   engine parses each value for its declared `{name:Type}` exactly as a server does; values never
 *   enter the SQL text.
 * - Credentials from Basic auth, `X-ClickHouse-User`/`X-ClickHouse-Key` or `user`/`password`;
 *   anything but the configured user and password is `516 AUTHENTICATION_FAILED` (HTTP 403).
 * - Errors as the server writes them: `Code: N. DB::Exception: … (TYPE)` in the body, the
 *   `X-ClickHouse-Exception-Code` header, the server's HTTP status for the code.
 * - `X-ClickHouse-Summary` (result rows/bytes, elapsed), `X-ClickHouse-Query-Id`, `X-ClickHouse-Timezone`.
 *
 * The server is tests/clickhouse/standin-server.ts. Each request runs on a connection of its own to
 * the one engine (one data directory): settings, parameters and `USE` last one request, as on a
 * server. chDB allows one engine per process, so `startClickHouseEndpoint` runs the stand-in in a
 * child process (tests/clickhouse/standin-main.ts); a test process may keep its own chDB engine.
 *
 * Known differences from a server: several `;`-separated statements in one request run (a server
 * refuses them); the summary has no `read_rows`/`written_rows` (chDB does not report them);
 * `session_id` and `role` are refused (501).
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { stopChild } from "../helpers/daemon.ts";

export interface ClickHouseEndpoint {
  url: string;
  username: string;
  password: string;
  /** `server`: PETREL_TEST_CLICKHOUSE_URL; `standin`: this file's stand-in in a child process. */
  kind: "server" | "standin";
  /** Stops the stand-in (and removes its directory unless `dir` was given); nothing for a server. */
  stop(): Promise<void>;
}

export interface EndpointOptions {
  /** Stand-in data directory; default a temporary one, removed on stop(). */
  dir?: string;
  /** Stand-in credentials; default `default` and a random password. */
  username?: string;
  password?: string;
}

/**
 * A real server when PETREL_TEST_CLICKHOUSE_URL is set (with PETREL_TEST_CLICKHOUSE_USER and
 * PETREL_TEST_CLICKHOUSE_PASSWORD), otherwise the stand-in, started in a child process; resolves
 * once it listens. Read only by tests: the relay's config refuses unknown PETREL_ variables.
 */
export async function startClickHouseEndpoint(opts: EndpointOptions = {}): Promise<ClickHouseEndpoint> {
  const serverUrl = process.env.PETREL_TEST_CLICKHOUSE_URL;
  if (serverUrl) {
    return {
      url: serverUrl,
      username: process.env.PETREL_TEST_CLICKHOUSE_USER ?? "default",
      password: process.env.PETREL_TEST_CLICKHOUSE_PASSWORD ?? "",
      kind: "server",
      stop: async () => {},
    };
  }
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "petrel-ch-standin-"));
  const username = opts.username ?? "default";
  const password = opts.password ?? randomUUID();
  const main = resolve(import.meta.dirname, "standin-main.ts");
  const child = spawn(process.execPath, ["--import", "tsx", main, dir], {
    cwd: resolve(import.meta.dirname, "../.."),
    env: {
      ...process.env,
      CLICKHOUSE_STANDIN_USER: username,
      CLICKHOUSE_STANDIN_PASSWORD: password,
      CLICKHOUSE_STANDIN_PARENT_PIPE: "1",
    },
    // stdin stays open while this process lives: the stand-in stops when it closes.
    stdio: ["pipe", "pipe", "inherit"],
  });
  const removeDir = () => {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((ok, fail) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once("line", (line) => ok(line.trim()));
      child.once("exit", (code) => fail(new Error(`ClickHouse stand-in exited (${code}) before listening`)));
      child.once("error", fail);
    });
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`ClickHouse stand-in said: ${url}`);
    return {
      url,
      username,
      password,
      kind: "standin",
      stop: async () => {
        await stopChild(child);
        removeDir();
      },
    };
  } catch (e) {
    await stopChild(child);
    removeDir();
    throw e;
  }
}
