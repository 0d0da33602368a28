/**
 * Issue 13 item 7, S2 "a reset or delete invalidates it at once", X2 "credential changes hold on
 * every node at once". The bound under test: a reset, delete or revocation that the API
 * acknowledged on node A is refused by node B's next check — even while B's directory view still
 * shows the old entry, and even with the old password in B's AUTH cache. Also item 4: an API key
 * made under node A's configured HMAC key (PETREL_HMAC_KEY) verifies on node B.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServerSecrets } from "../../shared/security/secrets.ts";
import { waitFor } from "../helpers/wait.ts";
import { startTwoNodes, type TwoNodes } from "./two-nodes.ts";

const SYNC_TIMEOUT_MS = 400;
let nodes: TwoNodes;

beforeAll(async () => {
  nodes = await startTwoNodes({ authSyncTimeoutMs: SYNC_TIMEOUT_MS });
}, 60_000);

afterAll(async () => {
  await nodes?.stop();
});

async function smtpUser(name: string) {
  const accountId = `acct-${name}`;
  await nodes.a.service.createAccount({ accountId, name, plan: "starter" });
  const u = await nodes.a.service.createSmtpUser(accountId);
  await waitFor(() => nodes.b.directory.smtpUser(u.username), { what: "node B's view of the new user" });
  // Node B accepts it, and caches the success (S2).
  expect(await nodes.b.service.authenticateSmtp(u.username, u.password)).toMatchObject({ accountId });
  return { accountId, username: u.username, password: u.password };
}

describe("SMTP AUTH on node B after a change on node A", () => {
  it("refuses the old password at once after a reset, and takes the new one", async () => {
    const u = await smtpUser("reset");
    nodes.lag.delayMs = 150; // B's view hears of the reset 150 ms late
    try {
      const { password } = await nodes.a.service.resetSmtpUser(u.accountId, u.username);
      expect(nodes.b.directory.smtpUser(u.username)?.generation).toBe(1); // B's view is behind
      expect(await nodes.b.service.authenticateSmtp(u.username, u.password)).toBeNull();
      expect(await nodes.b.service.authenticateSmtp(u.username, password)).toMatchObject({
        accountId: u.accountId,
        generation: 2,
      });
    } finally {
      nodes.lag.delayMs = 0;
    }
  });

  it("refuses a deleted user at once", async () => {
    const u = await smtpUser("delete");
    nodes.lag.delayMs = 150;
    try {
      await nodes.a.service.deleteSmtpUser(u.accountId, u.username);
      expect(nodes.b.directory.smtpUser(u.username)).toBeDefined(); // B's view is behind
      expect(await nodes.b.service.authenticateSmtp(u.username, u.password)).toBeNull();
    } finally {
      nodes.lag.delayMs = 0;
    }
  });

  it("asks the account actor when B's view cannot catch up in time", async () => {
    const u = await smtpUser("stuck");
    nodes.lag.paused = true; // B's view hears nothing more
    try {
      const { password } = await nodes.a.service.resetSmtpUser(u.accountId, u.username);
      const started = Date.now();
      expect(await nodes.b.service.authenticateSmtp(u.username, u.password)).toBeNull();
      expect(Date.now() - started).toBeLessThan(SYNC_TIMEOUT_MS + 2_000);
      expect(await nodes.b.service.authenticateSmtp(u.username, password)).toMatchObject({ generation: 2 });
      expect(nodes.b.directory.smtpUser(u.username)?.generation).toBe(1); // still behind
    } finally {
      nodes.lag.paused = false;
    }
    await waitFor(() => nodes.b.directory.smtpUser(u.username)?.generation === 2, { what: "B catching up" });
  });
});

describe("API keys across nodes", () => {
  it("verify on node B under the shared configured HMAC key, not under a node-local one", async () => {
    const accountId = "acct-keys";
    await nodes.a.service.createAccount({ accountId, name: "keys", plan: "starter" });
    const { key } = await nodes.a.service.createApiKey(accountId, { scopes: ["activity:read"] });
    expect(await nodes.b.service.authenticateApiKey(key)).toMatchObject({ accountId });
    // A node that generated its own key (no PETREL_HMAC_KEY) cannot check it.
    const local = loadServerSecrets(mkdtempSync(join(tmpdir(), "petrel-local-key-")));
    expect(await nodes.serviceWithKey(local.hmacKey).authenticateApiKey(key)).toBeNull();
  });

  it("refuse a key revoked on node A at once", async () => {
    const accountId = "acct-revoke";
    await nodes.a.service.createAccount({ accountId, name: "revoke", plan: "starter" });
    const created = await nodes.a.service.createApiKey(accountId, { scopes: ["activity:read"] });
    await waitFor(() => nodes.b.service.authenticateApiKey(created.key), { what: "B accepts the key" });
    nodes.lag.delayMs = 150;
    try {
      await nodes.a.service.revokeApiKey(accountId, created.id);
      expect(nodes.b.directory.apiKey(created.id)).toBeDefined(); // B's view is behind
      expect(await nodes.b.service.authenticateApiKey(created.key)).toBeNull();
    } finally {
      nodes.lag.delayMs = 0;
    }
  });
});
