/**
 * Deno entry (X3): `deno task start`. The same relay as main.ts; HTTP through Deno.serve.
 */

import { startRelay } from "./relay.ts";
import { relayApp } from "./relay-app.ts";
import { readyLine } from "./shared/cli/first-run.ts";
import { ConfigError, checkClusterSettings, describeConfig, loadConfig } from "./shared/config/load.ts";
import { createLogger } from "./shared/log.ts";

declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    options: { port: number; hostname: string; onListen?(addr: { port: number }): void },
    handler: (req: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void>; finished: Promise<void> };
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never;
};

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(Deno.env.toObject());
  checkClusterSettings(config);
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`petrel: ${e.message}`);
    Deno.exit(78);
  }
  throw e;
}
const log = createLogger(config.logLevel, { runtime: "deno" });
log.info({ config: describeConfig(config) }, "starting petrel");
const relay = await startRelay(config, log);
const app = relayApp(relay, config, log);
const server = Deno.serve(
  {
    port: config.httpPort,
    hostname: config.host,
    onListen: (a) => {
      log.info({ port: a.port }, "http listening");
      // The one line for a person (the log is JSON): the dashboard, and how to make the first sign-in.
      console.error(
        readyLine({
          host: config.host,
          port: a.port,
          dataDir: config.dataDir,
          adminTokenSet: config.adminToken !== undefined,
          accounts: relay.directory.accounts().length,
        }).trimEnd(),
      );
    },
  },
  app.fetch,
);
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  const force = setTimeout(() => Deno.exit(1), config.shutdownGraceMs);
  await Promise.allSettled([server.shutdown(), relay.stop()]);
  clearTimeout(force);
  log.info("stopped");
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
