/**
 * A whole relay for the browser tests: `npm start` as a child process (tests/cli/relay.ts) with a
 * small plan so the quota bar can be walked through its bands, an account in Europe/Paris and
 * its administrator, created through the operator API. The browser then signs in as that member.
 */

import { type RunningRelay, startRelayProcess } from "../cli/relay.ts";
import { freePort } from "../helpers/ports.ts";

export const ADMIN_TOKEN = "web-tests-operator-token-0123456789";
export const ACCOUNT = "acme";
export const ADMIN = { email: "ann@acme.test", password: "correct horse battery staple" };
/** Plan "tiny": 10 recipients a month, so 9 → orange (> 80 %), 10 → red (100 %). */
export const PLANS = [
  { name: "tiny", monthlyRecipients: 10, priceCents: 500, currency: "USD" },
  { name: "starter", monthlyRecipients: 20_000, priceCents: 1_500, currency: "USD" },
  { name: "pro", monthlyRecipients: 100_000, priceCents: 5_000, currency: "USD" },
];

export interface WebStack {
  relay: RunningRelay;
  base: string;
  submissionPort: number;
  /** Operator call to /v1 (Bearer operator token). */
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field
  operator(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startWebStack(extraEnv: Record<string, string> = {}): Promise<WebStack> {
  const relay = await startRelayProcess({
    PETREL_ADMIN_TOKEN: ADMIN_TOKEN,
    PETREL_PLANS: JSON.stringify(PLANS),
    PETREL_HOSTNAME: "smtp.petrel.test",
    // No DNS query may leave loopback: a closed port refuses at once (verification stays pending).
    PETREL_DNS_SERVERS: extraEnv.PETREL_DNS_SERVERS ?? `127.0.0.1:${await freePort()}`,
    ...extraEnv,
  });
  const base = relay.api;
  const operator = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const created = await operator("POST", "/admin/accounts", {
    name: "Acme",
    plan: "tiny",
    accountId: ACCOUNT,
    timezone: "Europe/Paris",
  });
  if (created.status !== 201) throw new Error(`account: ${JSON.stringify(created)}`);
  const member = await operator("POST", `/admin/accounts/${ACCOUNT}/members`, {
    email: ADMIN.email,
    role: "admin",
    password: ADMIN.password,
  });
  if (member.status !== 201) throw new Error(`member: ${JSON.stringify(member)}`);
  return {
    relay,
    base,
    submissionPort: relay.submissionPort,
    operator,
    async stop() {
      await relay.stop();
    },
  };
}
