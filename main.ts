/**
 * Node entry (O1): `npm start`. Loads the configuration, starts the relay, serves HTTP, and
 * shuts down gracefully on SIGTERM/SIGINT. The Deno entry (main.deno.ts) is its twin.
 */
import { serve } from "@hono/node-server";
import { startRelay } from "./relay.ts";
import { relayApp } from "./relay-app.ts";
import { readyLine } from "./shared/cli/first-run.ts";
import { ConfigError, checkClusterSettings, describeConfig, loadConfig } from "./shared/config/load.ts";
import { createLogger } from "./shared/log.ts";

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
    checkClusterSettings(config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`petrel: ${e.message}\n`);
      return 78; // EX_CONFIG
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  log.info({ config: describeConfig(config) }, "starting petrel");
  const relay = await startRelay(config, log);
  const app = relayApp(relay, config, log);
  const server = serve({ fetch: app.fetch, port: config.httpPort, hostname: config.host }, (info) => {
    log.info({ port: info.port, host: config.host }, "http listening");
    // The one line for a person (the log is JSON): the dashboard, and how to make the first sign-in.
    process.stderr.write(
      readyLine({
        host: config.host,
        port: info.port,
        dataDir: config.dataDir,
        adminTokenSet: config.adminToken !== undefined,
        accounts: relay.directory.accounts().length,
      }),
    );
  });
  return new Promise((resolveExit) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      // A supervisor and a wrapper (npm, tsx) may both deliver the signal: act on the first.
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "shutting down");
      const force = setTimeout(() => {
        log.error({ graceMs: config.shutdownGraceMs }, "shutdown grace period over, exiting");
        resolveExit(1);
      }, config.shutdownGraceMs);
      force.unref();
      server.close();
      relay.stop().then(() => {
        clearTimeout(force);
        log.info("stopped");
        resolveExit(0);
      });
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`petrel: failed to start: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
