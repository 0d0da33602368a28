/**
 * ClickHouse access for every Petrel component. The rest of the code sees only `@clickhouse/client`'s
 * `ClickHouseClient`; what is behind it is one of two backends, running the same SQL:
 *
 * - `url` set (PETREL_CLICKHOUSE_URL): a ClickHouse server over HTTP, the stock client.
 * - otherwise: the embedded chDB engine, on disk at `<dataDir>/clickhouse`, plugged into the same client
 *   through `chdb/connection` (`createClient({ connection })`).
 *
 * Both backends get the same database (created if missing, selected for unqualified names) and the
 * same explicit values for the settings whose defaults differ between ClickHouse versions, so a result
 * row has the same shape on both (`PARITY_SETTINGS`).
 *
 * chDB specifics handled here:
 * - One engine (one data directory) per process. A module-level slot keeps it: another `openClickHouse`
 *   for the same directory shares the open engine, a different directory throws `ChdbEngineInUseError`
 *   until every handle on the first is closed.
 * - `chdb/connection` applies per-call `clickhouse_settings` as `SET` on a long-lived session, so they
 *   would stay in force for later calls (an `insert_deduplication_token` would silently drop the next
 *   insert). To keep HTTP semantics (settings, `USE`, `SET` last one call), every call runs on its own
 *   short-lived native connection to the shared engine; a long-lived "anchor" connection keeps the
 *   engine loaded in between.
 * - Errors are rethrown as `@clickhouse/client`'s own `ClickHouseError` (chdb builds them from a
 *   different copy of the class, which `instanceof` would not recognise).
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import {
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  ClickHouseError,
  type ClickHouseSettings,
  createClient,
} from "@clickhouse/client";
import type { ChdbConnection } from "chdb/connection";

export interface OpenClickHouseOptions {
  /** ClickHouse server URL (http[s]://host:port); unset = embedded chDB under `dataDir`. */
  url?: string;
  /** Petrel's data directory; chDB keeps its files in `<dataDir>/clickhouse`. */
  dataDir: string;
  /** Database for unqualified table names, created if missing. Default `petrel`. */
  database?: string;
  /** Server credentials (ignored by chDB). */
  username?: string;
  password?: string;
  /** Server request timeout in ms (ignored by chDB). */
  requestTimeoutMs?: number;
}

export interface ClickHouseHandle {
  /** The `@clickhouse/client` API; the only interface the rest of the code uses. */
  readonly client: ClickHouseClient;
  readonly backend: "chdb" | "server";
  readonly database: string;
  /** chDB: the engine's data directory. Server: undefined. */
  readonly path: string | undefined;
  /** Closes the client; for chDB, releases the engine when this was the last handle on it. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_DATABASE = "petrel";

/**
 * Set explicitly on both backends, since their defaults changed across ClickHouse versions (a 26.x
 * engine has 0 / best_effort / 1, older servers 1 / basic / 0):
 * - 64-bit integers come back as JSON strings (no precision loss in JS; `count()` is a string);
 * - DateTime inputs accept ISO-8601 (`Date.toISOString()`) as well as `YYYY-MM-DD hh:mm:ss[.fff]`;
 * - inserts are synchronous, so an insert is durable when it returns and insert deduplication
 *   (`insert_deduplication_token`, `non_replicated_deduplication_window`) works the same way.
 */
export const PARITY_SETTINGS = {
  output_format_json_quote_64bit_integers: 1,
  date_time_input_format: "best_effort",
  async_insert: 0,
} as const satisfies ClickHouseSettings;

/** chDB-only: turn off chDB's extensions a server does not have (`SELECT` may not be omitted). */
const CHDB_ONLY_SETTINGS = { implicit_select: 0 } as const;

/** Thrown when chDB is asked for a second data directory in one process. */
export class ChdbEngineInUseError extends Error {
  readonly code = "CHDB_ENGINE_IN_USE";
  constructor(
    /** Directory of the engine already open in this process ("" if opened outside this module). */
    readonly openPath: string,
    readonly requestedPath: string,
    options?: { cause?: unknown },
  ) {
    super(
      `chDB allows one engine per process: ${openPath ? `the engine at ${openPath} is open` : "another chDB data directory is open"}, ` +
        `so ${requestedPath} cannot be opened. Close every handle on it first, or use another process.`,
      options,
    );
    this.name = "ChdbEngineInUseError";
  }
}

/** Formats a Date as ClickHouse's `YYYY-MM-DD hh:mm:ss.fff` in UTC (for DateTime64(3, 'UTC') values). */
export function toDateTime64(d: Date): string {
  return d.toISOString().replace("T", " ").replace("Z", "");
}

export async function openClickHouse(opts: OpenClickHouseOptions): Promise<ClickHouseHandle> {
  const database = opts.database ?? DEFAULT_DATABASE;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new Error(
      `invalid ClickHouse database name ${JSON.stringify(database)}: use letters, digits and _`,
    );
  }
  return opts.url
    ? openServer(opts.url, database, opts)
    : openChdb(resolve(opts.dataDir, "clickhouse"), database);
}

// ---------------------------------------------------------------------------------------------------
// Server over HTTP

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}

async function openServer(
  url: string,
  database: string,
  opts: OpenClickHouseOptions,
): Promise<ClickHouseHandle> {
  const base = {
    url,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...(opts.requestTimeoutMs !== undefined ? { request_timeout: opts.requestTimeoutMs } : {}),
    clickhouse_settings: { ...PARITY_SETTINGS },
  };
  // The database must exist before a client may name it; create it through one on `default`.
  const boot = createClient({ ...base, database: "default" });
  try {
    const ping = await boot.ping({ select: true });
    if (!ping.success) {
      throw new Error(`ClickHouse server at ${redact(url)} is not reachable: ${ping.error.message}`, {
        cause: ping.error,
      });
    }
    await boot.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`` });
  } finally {
    await boot.close();
  }
  const client = createClient({ ...base, database });
  let closed: Promise<void> | undefined;
  return {
    client,
    backend: "server",
    database,
    path: undefined,
    close() {
      closed ??= client.close();
      return closed;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Embedded chDB

// chdb is imported on first use: importing it loads the native engine, which a server-only process
// does not need.
type ChdbModules = {
  createChdbConnection: typeof import("chdb/connection")["createChdbConnection"];
  drainPending: typeof import("chdb")["drainPending"];
};
let chdbModules: Promise<ChdbModules> | undefined;
function loadChdb(): Promise<ChdbModules> {
  chdbModules ??= Promise.all([import("chdb/connection"), import("chdb")]).then(([conn, root]) => ({
    createChdbConnection: conn.createChdbConnection,
    drainPending: root.drainPending,
  }));
  return chdbModules;
}

interface EngineSlot {
  path: string;
  chdb: ChdbModules;
  /** Keeps the engine (and its loaded databases) alive while handles come and go. */
  anchor: ChdbConnection;
  refs: number;
  /** Set while the last handle is releasing the engine. */
  closing?: Promise<void>;
}

// On globalThis so that two copies of this module (e.g. loaded under different URLs) still share it.
const SLOT = Symbol.for("petrel.clickhouse.chdbEngine");
type SlotHolder = { [SLOT]?: EngineSlot };
const holder = globalThis as SlotHolder;

async function acquireEngine(path: string): Promise<EngineSlot> {
  const chdb = await loadChdb();
  for (;;) {
    const slot = holder[SLOT];
    if (slot?.closing) {
      await slot.closing;
      continue;
    }
    if (slot) {
      if (slot.path !== path) throw new ChdbEngineInUseError(slot.path, path);
      slot.refs++;
      return slot;
    }
    mkdirSync(path, { recursive: true });
    let anchor: ChdbConnection;
    try {
      anchor = chdb.createChdbConnection({ path });
    } catch (e) {
      if (/only one active data directory|Cannot open a session/i.test(String((e as Error)?.message))) {
        throw new ChdbEngineInUseError("", path, { cause: e });
      }
      throw e;
    }
    const fresh: EngineSlot = { path, chdb, anchor, refs: 1 };
    holder[SLOT] = fresh;
    return fresh;
  }
}

function releaseEngine(slot: EngineSlot): Promise<void> {
  if (--slot.refs > 0) return Promise.resolve();
  slot.closing = (async () => {
    try {
      await slot.anchor.close();
      // close() can return before the native connection is gone; wait, so that another directory
      // may be opened right after.
      await slot.chdb.drainPending();
    } finally {
      if (holder[SLOT] === slot) delete holder[SLOT];
    }
  })();
  return slot.closing;
}

/** Rethrow chdb's errors as `@clickhouse/client`'s `ClickHouseError` so `instanceof` works on both backends. */
function asClientError(e: unknown): unknown {
  if (e instanceof ClickHouseError || !(e instanceof Error)) return e;
  const { code, type } = e as { code?: unknown; type?: unknown };
  // chdb's copy of ClickHouseError: numeric string `code` (the server's error code) and `type`.
  if (typeof code !== "string" || !/^\d+$/.test(code)) return e;
  const mapped = new ClickHouseError({
    message: e.message,
    code,
    ...(typeof type === "string" ? { type } : {}),
  });
  (mapped as { cause?: unknown }).cause = e;
  return mapped;
}

/**
 * The `Connection` given to `createClient`: each call on a fresh native connection to the shared engine,
 * initialised with the parity settings and `USE <database>`, closed after the call.
 */
/** `@clickhouse/client`'s own (not re-exported) Connection contract, which `chdb/connection` implements
 * against its copy of the same types. */
type ClientConnection = NonNullable<ClickHouseClientConfigOptions["connection"]>;
type Op = "query" | "exec" | "command" | "insert";
type Params<K extends Op> = Parameters<ClientConnection[K]>[0];
type Result<K extends Op> = ReturnType<ClientConnection[K]>;

/**
 * The `Connection` given to `createClient`: each call on a fresh native connection to the shared engine,
 * initialised with the parity settings and `USE <database>`, closed after the call.
 */
class IsolatingChdbConnection implements ClientConnection {
  readonly #slot: EngineSlot;
  readonly #init: string;
  readonly #inflight = new Set<Promise<unknown>>();
  #closed: Promise<void> | undefined;

  constructor(slot: EngineSlot, database: string) {
    this.#slot = slot;
    const settings = { ...PARITY_SETTINGS, ...CHDB_ONLY_SETTINGS };
    const sets = Object.entries(settings).map(
      ([k, v]) => `SET ${k} = ${typeof v === "string" ? `'${v}'` : v}`,
    );
    this.#init = [...sets, `USE \`${database}\``].join("; ");
  }

  #run<T>(op: (conn: ChdbConnection) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("ClickHouse handle is closed"));
    const p = (async () => {
      const conn = this.#slot.chdb.createChdbConnection({ path: this.#slot.path });
      try {
        await conn.command({ query: this.#init });
        return await op(conn);
      } catch (e) {
        throw asClientError(e);
      } finally {
        await conn.close();
      }
    })();
    this.#inflight.add(p);
    const forget = () => this.#inflight.delete(p);
    p.then(forget, forget);
    return p;
  }

  // The two copies of the contract types are identical in shape; the casts only bridge their identities.
  #call<K extends Op>(k: K, params: Params<K>): Result<K> {
    return this.#run((c) => (c[k] as (p: unknown) => Promise<unknown>).call(c, params)) as Result<K>;
  }
  query(params: Params<"query">): Result<"query"> {
    return this.#call("query", params);
  }
  exec(params: Params<"exec">): Result<"exec"> {
    return this.#call("exec", params);
  }
  command(params: Params<"command">): Result<"command"> {
    return this.#call("command", params);
  }
  insert(params: Params<"insert">): Result<"insert"> {
    return this.#call("insert", params);
  }
  async ping(params: Parameters<ClientConnection["ping"]>[0]): ReturnType<ClientConnection["ping"]> {
    if (this.#closed) return { success: false, error: new Error("ClickHouse handle is closed") };
    try {
      return await this.#run((c) => c.ping(params as never));
    } catch (e) {
      return { success: false, error: e instanceof Error ? e : new Error(String(e)) };
    }
  }
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled([...this.#inflight]);
      await releaseEngine(this.#slot);
    })();
    return this.#closed;
  }
}

async function openChdb(path: string, database: string): Promise<ClickHouseHandle> {
  const slot = await acquireEngine(path);
  try {
    await slot.anchor.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`` });
  } catch (e) {
    await releaseEngine(slot);
    throw asClientError(e);
  }
  const connection = new IsolatingChdbConnection(slot, database);
  const client = createClient({ connection });
  return {
    client,
    backend: "chdb",
    database,
    path,
    close: () => client.close(),
  };
}
