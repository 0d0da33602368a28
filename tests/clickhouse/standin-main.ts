/**
 * The ClickHouse stand-in as a process of its own (tests/clickhouse/standin.ts): chDB allows one
 * engine per process, so the process that serves it holds nothing else.
 *
 *   npx tsx tests/clickhouse/standin-main.ts [dataDir]
 *
 * Credentials from CLICKHOUSE_STANDIN_USER (default `default`) and CLICKHOUSE_STANDIN_PASSWORD
 * (default empty). Prints the URL on stdout once it listens; stops on SIGTERM or SIGINT.
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

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    standin.close().finally(() => process.exit(0));
  });
}
