/**
 * The management API over the real stack, for the API tests: the LogBus in a temp dir, the
 * ActorSystem on a ManualClock with the account actor, the DirectoryView, the AccountService,
 * the sending-domain code (real DKIM keys; DNS through a resolver that asks only a closed
 * loopback port, so verification is inconclusive and never leaves the machine), and the app.
 */

import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccountBehavior } from "../../actors/account/behavior.ts";
import { AccountService } from "../../actors/account/service.ts";
import { createSuppressionBehavior } from "../../actors/account/suppression.ts";
import { ManualClock } from "../../actors/clock.ts";
import { createSessionBehavior } from "../../actors/session/behavior.ts";
import { SessionService } from "../../actors/session/service.ts";
import { ActorSystem } from "../../actors/system.ts";
import { createApp } from "../../edge-api/app.ts";
import { createControl } from "../../edge-api/control.ts";
import type { ControlDeps } from "../../edge-api/deps.ts";
import { LogBus } from "../../shared/bus/log/log-bus.ts";
import { DirectoryView } from "../../shared/directory/view.ts";
import { createResolver } from "../../shared/domains/verify.ts";
import type { Plan } from "../../shared/model/account/protocol.ts";
import { waitFor } from "../helpers/wait.ts";

/** The fingerprint the connection settings carry (any 32 colon-separated bytes). */
export const CERT_SHA256 = Array.from({ length: 32 }, (_, i) =>
  (i * 7).toString(16).padStart(2, "0").toUpperCase(),
).join(":");

export const PARTITIONS = 4;
export const ADMIN_TOKEN = "operator-token-for-tests-0123456789";
export const PLANS: Plan[] = [
  { name: "free", monthlyRecipients: 100, priceCents: 0, currency: "USD" },
  { name: "starter", monthlyRecipients: 1_000, priceCents: 1_500, currency: "USD" },
  { name: "pro", monthlyRecipients: 10_000, priceCents: 5_000, currency: "USD" },
];
export const BASE = "http://127.0.0.1";

export interface ApiStack {
  app: ReturnType<typeof createApp>;
  control: ControlDeps;
  service: AccountService;
  system: ActorSystem;
  directory: DirectoryView;
  clock: ManualClock;
  stop(): Promise<void>;
}

/** A UDP port on loopback that nobody listens on: DNS queries to it are refused at once. */
async function closedUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startApiStack(): Promise<ApiStack> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-api-"));
  const clock = new ManualClock(Date.UTC(2026, 2, 10, 12));
  const bus = await LogBus.open({ dir, maintenanceIntervalMs: 0 });
  const system = new ActorSystem({ bus, nodeId: "local", clock, partitions: PARTITIONS, localAsk: true });
  system.register(createAccountBehavior({ partitions: PARTITIONS, retentionDays: 30, reverifyHours: 24 }));
  system.register(createSuppressionBehavior()); // D8: /v1/suppressions
  system.register(createSessionBehavior()); // C2: dashboard sessions
  await system.start();
  await waitFor(() => system.ownedPartitions("account").length === PARTITIONS, {
    what: "account partitions",
  });
  const directory = await DirectoryView.open({ bus, nodeId: "local" });
  const service = new AccountService({
    actors: system,
    plans: PLANS,
    hmacKey: new Uint8Array(32).fill(3),
    directory,
    clock,
    connection: {
      server: "smtp.petrel.test",
      ports: [
        { port: 587, encryption: "STARTTLS" },
        { port: 465, encryption: "TLS" },
      ],
      certificate: { sha256: CERT_SHA256, selfSigned: true },
    },
  });
  const resolver = createResolver({
    servers: [`127.0.0.1:${await closedUdpPort()}`],
    timeoutMs: 500,
    tries: 1,
  });
  const control = createControl({
    accounts: service,
    actors: system,
    directory,
    resolver,
    clock,
    zone: { provider: "petrel.test" },
    adminToken: ADMIN_TOKEN,
    sessions: new SessionService({ actors: system, accounts: service, now: () => clock.now() }),
  });
  const app = createApp({ version: "test", readiness: () => ({ ready: true, checks: {} }), control });
  return {
    app,
    control,
    service,
    system,
    directory,
    clock,
    async stop() {
      await directory.close();
      await system.stop();
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field
  body: any;
  text: string;
  headers: Headers;
}

export async function call(
  app: ApiStack["app"],
  method: string,
  path: string,
  o: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  let body: string | undefined;
  if (o.rawBody !== undefined) body = o.rawBody;
  else if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await app.request(`${BASE}${path}`, { method: method.toUpperCase(), headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const OPERATOR = bearer(ADMIN_TOKEN);

/** Signs a member in; answers the Cookie header of its session. */
export async function signIn(
  app: ApiStack["app"],
  email: string,
  password: string,
): Promise<Record<string, string>> {
  const r = await call(app, "post", "/v1/session", { body: { email, password } });
  if (r.status !== 201) throw new Error(`sign-in of ${email} failed: ${r.status} ${r.text}`);
  const cookie = r.headers.get("set-cookie") ?? "";
  const m = /petrel_session=([^;]+)/.exec(cookie);
  if (!m) throw new Error(`no session cookie in ${cookie}`);
  return { cookie: `petrel_session=${m[1]}` };
}
