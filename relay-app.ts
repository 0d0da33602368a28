/**
 * The HTTP app of a running relay: the runtime-neutral Hono app (edge-api/app.ts) given this
 * node's relay, readiness, metrics and control plane. Both entries (main.ts, main.deno.ts) serve
 * exactly this.
 */
import { createApp } from "./edge-api/app.ts";
import { createControl } from "./edge-api/control.ts";
import { type Relay, VERSION } from "./relay.ts";
import { fileAssets } from "./relay-assets.ts";
import type { Config } from "./shared/config/schema.ts";
import { createResolver } from "./shared/domains/verify.ts";
import { zoneSettings } from "./shared/domains/zone.ts";
import type { Logger } from "./shared/log.ts";

export function relayApp(relay: Relay, config: Config, log: Logger): ReturnType<typeof createApp> {
  const control = createControl({
    accounts: relay.accounts,
    actors: relay.actors,
    directory: relay.directory,
    resolver: createResolver({ servers: config.dnsServers }),
    clock: { now: () => Date.now() },
    zone: zoneSettings(config),
    adminToken: relay.secrets.adminToken,
    sessions: relay.sessions,
    analytics: relay.analytics,
    log,
  });
  return createApp({
    version: VERSION,
    readiness: () => relay.readiness(),
    assets: fileAssets(),
    metrics: async () => ({ contentType: relay.metrics.contentType, body: await relay.metrics.metrics() }),
    control,
  });
}
