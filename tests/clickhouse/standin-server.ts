/**
 * The HTTP interface of the ClickHouse test stand-in (tests/clickhouse/standin.ts says what it is and
 * what it serves): a node:http server on loopback over the chDB engine. Runs in a process of its own
 * (tests/clickhouse/standin-main.ts), since chDB allows one engine per process.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { gunzipSync, gzipSync, inflateSync } from "node:zlib";

export interface StandinOptions {
  /** Data directory of the engine. */
  dir: string;
  username: string;
  password: string;
  /** Default 0: a free port. */
  port?: number;
}

export interface Standin {
  url: string;
  close(): Promise<void>;
}

type Chdb = typeof import("chdb");
type ChdbSession = InstanceType<Chdb["Session"]>;

/** URL parameters that steer the HTTP layer; every other one is a setting. */
const HTTP_PARAMETERS = new Set([
  "query",
  "database",
  "default_format",
  "query_id",
  "user",
  "password",
  "quota_key",
  "session_id",
  "session_timeout",
  "session_check",
  "role",
  "compress",
  "decompress",
  "buffer_size",
  "wait_end_of_query",
  "enable_http_compression",
  "send_progress_in_http_headers",
  "http_headers_progress_interval_ms",
  "stacktrace",
]);

/** Settings the engine is opened with, as the server's profile would set them. */
const ENGINE_DEFAULTS = { implicit_select: "0" } as const;

/** An error in ClickHouse's own shape: `Code: N. DB::Exception: message. (TYPE)`. */
class ServerError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(`Code: ${code}. DB::Exception: ${message}. (${type})`);
  }
}

/** The server's HTTP status for an error type (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp). */
function httpStatus(type: string): number {
  if (type === "REQUIRED_PASSWORD") return 401;
  if (/^(UNKNOWN_USER|WRONG_PASSWORD|AUTHENTICATION_FAILED|SET_NON_GRANTED_ROLE|ACCESS_DENIED)$/.test(type))
    return 403;
  if (
    /^(BAD_ARGUMENTS|CANNOT_PARSE_\w+|CANNOT_COMPILE_REGEXP|DUPLICATE_COLUMN|ILLEGAL_COLUMN|UNKNOWN_ELEMENT_IN_AST|UNKNOWN_TYPE_OF_AST_NODE|THERE_IS_NO_COLUMN|TOO_DEEP_AST|TOO_BIG_AST|UNEXPECTED_AST_STRUCTURE|SYNTAX_ERROR|INCORRECT_DATA|TYPE_MISMATCH|VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE)$/.test(
      type,
    )
  )
    return 400;
  if (
    /^UNKNOWN_(TABLE|FUNCTION|IDENTIFIER|TYPE|STORAGE|DATABASE|SETTING|DIRECTION_OF_SORTING|AGGREGATE_FUNCTION|FORMAT|DATABASE_ENGINE|TYPE_OF_QUERY|ROLE)$/.test(
      type,
    )
  )
    return 404;
  if (type === "QUERY_IS_TOO_LARGE") return 413;
  if (type === "NOT_IMPLEMENTED") return 501;
  if (type === "TIMEOUT_EXCEEDED") return 408;
  return 500;
}

/** A ClickHouse string literal: backslash escapes, control characters as `\xHH`. */
function sqlString(value: string): string {
  let out = "'";
  for (const c of value) {
    if (c === "\\" || c === "'") out += `\\${c}`;
    else if (c.charCodeAt(0) < 0x20) out += `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
    else out += c;
  }
  return `${out}'`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Request {
  query: string;
  params: URLSearchParams;
  readonly: boolean;
}

/** Who is asking: Basic auth, X-ClickHouse-User/Key headers, or user/password parameters. */
function credentials(req: IncomingMessage, params: URLSearchParams): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Basic ")) {
    const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0
      ? { user: decoded, password: "" }
      : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  return {
    user: header("x-clickhouse-user") ?? params.get("user") ?? "default",
    password: header("x-clickhouse-key") ?? params.get("password") ?? "",
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const encoding = req.headers["content-encoding"];
  if (!encoding || encoding === "identity") return raw;
  if (encoding === "gzip") return gunzipSync(raw);
  if (encoding === "deflate") return inflateSync(raw);
  throw new ServerError(89, "UNKNOWN_COMPRESSION_METHOD", `Unknown Content-Encoding ${encoding}`);
}

/** The query and parameters of a request: URL `query` + "\n" + body, or the parts of a multipart form. */
async function readRequest(req: IncomingMessage, url: URL): Promise<Request> {
  const params = new URLSearchParams(url.searchParams);
  const fromUrl = params.get("query") ?? "";
  if (req.method === "GET") return { query: fromUrl, params, readonly: true };
  const body = await readBody(req);
  const type = req.headers["content-type"] ?? "";
  if (type.startsWith("multipart/form-data")) {
    const form = await new Response(new Uint8Array(body), { headers: { "content-type": type } }).formData();
    let query = fromUrl;
    form.forEach((value, name) => {
      if (typeof value !== "string") return;
      if (name === "query") query = value;
      else if (name.startsWith("param_")) params.set(name, value);
    });
    return { query, params, readonly: false };
  }
  const text = body.toString("utf8");
  return { query: fromUrl ? (text ? `${fromUrl}\n${text}` : fromUrl) : text, params, readonly: false };
}

/** The statements that give a fresh connection this request's database, settings and parameters. */
function requestSetup(req: IncomingMessage, r: Request): string[] {
  const database = r.params.get("database") ?? req.headers["x-clickhouse-database"];
  const setup = Object.entries(ENGINE_DEFAULTS).map(([k, v]) => `SET ${k} = ${sqlString(v)}`);
  if (typeof database === "string" && database) {
    if (!IDENTIFIER.test(database))
      throw new ServerError(81, "UNKNOWN_DATABASE", `Database ${database} does not exist`);
    setup.push(`USE \`${database}\``);
  }
  for (const [name, value] of r.params) {
    if (HTTP_PARAMETERS.has(name)) continue;
    const key = name.startsWith("param_") ? name.slice(6) : name;
    if (!IDENTIFIER.test(key)) {
      throw name === key
        ? new ServerError(115, "UNKNOWN_SETTING", `Unknown setting '${name}'`)
        : new ServerError(36, "BAD_ARGUMENTS", `Invalid query parameter name '${key}'`);
    }
    setup.push(`SET ${name} = ${sqlString(value)}`);
  }
  // A GET may only read (a server sets readonly = 2 for it).
  if (r.readonly) setup.push("SET readonly = 2");
  return setup;
}

function unsupported(r: Request): ServerError | undefined {
  for (const name of ["session_id", "role"]) {
    if (r.params.has(name))
      return new ServerError(48, "NOT_IMPLEMENTED", `the Petrel test stand-in does not support ${name}`);
  }
  return undefined;
}

function asServerError(e: unknown): ServerError | { code: number; type: string; message: string } {
  if (e instanceof ServerError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = /Code: (\d+)\..*\(([A-Z0-9_]+)\)\s*$/s.exec(message);
  if (m) return { code: Number(m[1]), type: m[2]!, message };
  return new ServerError(1001, "STD_EXCEPTION", message);
}

export async function serveClickHouse(o: StandinOptions): Promise<Standin> {
  const chdb: Chdb = await import("chdb");
  const anchor = new chdb.Session(o.dir); // keeps the engine loaded between requests
  const [version, timezone] = (
    await anchor.queryAsync("SELECT version(), timezone()", { format: "TabSeparated" })
  )
    .text()
    .trim()
    .split("\t");

  async function run(req: IncomingMessage, r: Request, queryId: string) {
    const format = r.params.get("default_format") ?? req.headers["x-clickhouse-format"] ?? "TabSeparated";
    if (typeof format !== "string" || !IDENTIFIER.test(format))
      throw new ServerError(73, "UNKNOWN_FORMAT", `Unknown format ${String(format)}`);
    if (!r.query.trim()) throw new ServerError(62, "SYNTAX_ERROR", "Empty query");
    const setup = requestSetup(req, r);
    const session: ChdbSession = new chdb.Session(o.dir);
    try {
      await session.queryAsync(setup.join("; "), { format: "TabSeparated" });
      const result = await session.queryAsync(r.query, { format });
      // chDB's counts are of the result, not of what was read.
      const summary = {
        result_rows: String(result.rowsRead),
        result_bytes: String(result.bytesRead),
        elapsed_ns: String(Math.round(result.elapsed * 1e9)),
        query_id: queryId,
      };
      return { body: Buffer.from(result.bytes()), summary };
    } finally {
      session.close();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://standin");
    const queryId = url.searchParams.get("query_id") || randomUUID();
    const reply = (status: number, body: Buffer | string, headers: Record<string, string> = {}) => {
      res.writeHead(status, {
        "Content-Type": "text/plain; charset=UTF-8",
        "X-ClickHouse-Query-Id": queryId,
        "X-ClickHouse-Timezone": timezone,
        "X-ClickHouse-Server-Display-Name": "petrel-clickhouse-standin",
        ...headers,
      });
      res.end(body);
    };
    try {
      if (url.pathname === "/ping" && req.method === "GET") return reply(200, "Ok.\n");
      if (url.pathname !== "/" || (req.method !== "GET" && req.method !== "POST"))
        return reply(404, `There is no handle ${url.pathname}\n`);
      if (req.method === "GET" && !url.searchParams.has("query")) return reply(200, "Ok.\n");
      const who = credentials(req, url.searchParams);
      if (who.user !== o.username || who.password !== o.password) {
        req.resume();
        throw new ServerError(
          516,
          "AUTHENTICATION_FAILED",
          `${who.user}: Authentication failed: password is incorrect, or there is no user with such name`,
        );
      }
      const r = await readRequest(req, url);
      const refused = unsupported(r);
      if (refused) throw refused;
      const { body, summary } = await run(req, r, queryId);
      const gzip =
        /^(1|true)$/.test(r.params.get("enable_http_compression") ?? "") &&
        /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
      return reply(200, gzip ? gzipSync(body) : body, {
        "X-ClickHouse-Summary": JSON.stringify(summary),
        ...(gzip ? { "Content-Encoding": "gzip" } : {}),
      });
    } catch (e) {
      const err = asServerError(e);
      return reply(httpStatus(err.type), `${err.message} (version ${version})\n`, {
        "X-ClickHouse-Exception-Code": String(err.code),
      });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.destroy(e instanceof Error ? e : new Error(String(e)));
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(o.port ?? 0, "127.0.0.1", () => ok());
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("stand-in: no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      anchor.close();
      await chdb.drainPending();
    },
  };
}
