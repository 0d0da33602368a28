/**
 * The ClickHouse stand-in as a process of its own (tests/clickhouse/standin.ts): chDB allows one
 * engine per process, so the process that serves it holds nothing else.
 *
 *   npx tsx tests/clickhouse/standin-main.ts [dataDir]
 *
 * Credentials from CLICKHOUSE_STANDIN_USER (default `default`) and CLICKHOUSE_STANDIN_PASSWORD
 * (default empty). Prints the URL on stdout once it listens; stops on SIGTERM or SIGINT (and, when
 * started by startClickHouseEndpoint, once its parent's end closes stdin).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveClickHouse } from "./standin-server.ts";

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "petrel-ch-standin-"));
const standin = await serveClickHouse({
  dir,
  username: process.env.CLICKHOUSE_STANDIN_USER ?? "default",
  password: process.env.CLICKHOUSE_STANDIN_PASSWORD ?? "",
});
console.log(standin.url);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  standin.close().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
// Started by startClickHouseEndpoint: stop with the parent, whose end closes this pipe.
if (process.env.CLICKHOUSE_STANDIN_PARENT_PIPE === "1") {
  process.stdin.on("close", stop);
  process.stdin.resume();
}
