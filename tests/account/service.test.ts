/**
 * AccountService over the real ActorSystem and DirectoryView: generated credentials shown once,
 * authentication through the directory (a reset or deleted SMTP user, a revoked API key stop
 * working at once), member sign-in, plans, and typed errors.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AccountError } from "../../actors/account/service.ts";
import { tampered } from "../helpers/secrets.ts";
import { checked, domainFixture } from "./fixtures.ts";
import { type Node, startNode, tempDir } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function node(): Promise<Node> {
  const n = await startNode(tempDir(cleanups));
  cleanups.push(() => n.stop());
  return n;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AccountError) return e.code;
    throw e;
  }
  throw new Error("expected an AccountError");
}

describe("AccountService", () => {
  it("creates accounts from the plan catalog and maps actor errors to AccountError codes", async () => {
    const { service } = await node();
    expect(service.listPlans().map((p) => p.name)).toEqual(["free", "starter", "pro"]);
    expect(await code(service.createAccount({ name: "X", plan: "platinum" }))).toBe("plan_not_found");
    expect(await code(service.createAccount({ name: "X", plan: "free", timezone: "Moon/Base" }))).toBe(
      "invalid_request",
    );
    const a = await service.createAccount({ name: "Acme", plan: "starter", timezone: "Asia/Tokyo" });
    expect(a.accountId).toMatch(/^acc_[a-z2-7]{16}$/);
    expect(a).toMatchObject({
      name: "Acme",
      status: "active",
      sendingAllowed: true,
      plan: "starter",
      timezone: "Asia/Tokyo",
    });
    expect(a.quota).toMatchObject({ used: 0, limit: 1_000, percent: 0, band: "blue" });
    expect(await code(service.getAccount("acc_missing"))).toBe("account_not_found");
    expect(await code(service.getAccount(""))).toBe("account_not_found");

    const up = await service.changePlan(a.accountId, "pro");
    expect(up).toMatchObject({
      plan: "pro",
      effective: "now",
      account: { plan: "pro", quota: { limit: 10_000 } },
    });
    const down = await service.changePlan(a.accountId, "free");
    expect(down).toMatchObject({
      effective: "next_period",
      effectiveAt: a.period.end,
      account: { plan: "pro", pendingPlan: "free" },
    });
    expect(await code(service.changePlan(a.accountId, "nope"))).toBe("plan_not_found");
    const c = await service.cancel(a.accountId);
    expect(c.cancelAt).toBe(a.period.end);
    expect(await service.billingHistory(a.accountId)).toHaveLength(1);
  });

  it("generates SMTP credentials; a reset or a delete stops the old password at once (C3, S2)", async () => {
    const { service } = await node();
    const { accountId } = await service.createAccount({ name: "Mail", plan: "free" });
    const u = await service.createSmtpUser(accountId, { name: "website" });
    expect(u.username).toMatch(/^ptl_[a-z2-7]{16}$/);
    expect(u.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(u).toMatchObject({ name: "website" });
    expect(JSON.stringify(await service.listSmtpUsers(accountId))).not.toContain("scrypt");

    expect(await service.authenticateSmtp(u.username, u.password)).toMatchObject({
      accountId,
      generation: 1,
      sendingAllowed: true,
    });
    expect(await service.authenticateSmtp(u.username, u.password)).toMatchObject({ accountId }); // cached
    expect(await service.authenticateSmtp(u.username, "wrong")).toBeNull();

    const reset = await service.resetSmtpUser(accountId, u.username);
    expect(reset.password).not.toBe(u.password);
    expect(await service.authenticateSmtp(u.username, u.password)).toBeNull();
    expect(await service.authenticateSmtp(u.username, reset.password)).toMatchObject({ generation: 2 });

    await service.setStatus(accountId, "suspended");
    expect(await service.authenticateSmtp(u.username, reset.password)).toMatchObject({
      sendingAllowed: false,
    });

    await service.deleteSmtpUser(accountId, u.username);
    expect(await service.authenticateSmtp(u.username, reset.password)).toBeNull();
    expect(await code(service.resetSmtpUser(accountId, u.username))).toBe("smtp_user_not_found");
  });

  it("creates scoped API keys shown once and stops a revoked one at once (C5)", async () => {
    const { service } = await node();
    const { accountId } = await service.createAccount({ name: "Api", plan: "free" });
    const k = await service.createApiKey(accountId, { label: "ci", scopes: ["stats:read", "activity:read"] });
    expect(k.key).toMatch(new RegExp(`^pk_${k.id}_[A-Za-z0-9_-]{32}$`));
    expect(await service.authenticateApiKey(k.key)).toEqual({
      accountId,
      keyId: k.id,
      scopes: ["stats:read", "activity:read"],
    });
    expect(await service.authenticateApiKey(tampered(k.key))).toBeNull();
    expect(await service.authenticateApiKey("pk_nothing")).toBeNull();
    expect(JSON.stringify(await service.listApiKeys(accountId))).not.toContain(k.key.slice(-32));
    expect(await code(service.createApiKey(accountId, { scopes: ["admin:all" as never] }))).toBe(
      "invalid_request",
    );
    await service.revokeApiKey(accountId, k.id);
    expect(await service.authenticateApiKey(k.key)).toBeNull();
    expect((await service.listApiKeys(accountId))[0]?.revokedAt).toBeTypeOf("number");
  });

  it("signs members in by email and password (C2)", async () => {
    const { service } = await node();
    const { accountId } = await service.createAccount({ name: "Team", plan: "free" });
    const m = await service.addMember(accountId, {
      email: "Ann@Example.com",
      role: "custom",
      permissions: ["smtp.activity"],
      password: "correct horse",
    });
    expect(m).toMatchObject({
      email: "ann@example.com",
      hasPassword: true,
      effectivePermissions: ["smtp.activity"],
    });
    expect(await service.signIn("ann@example.com", "correct horse")).toEqual({
      accountId,
      email: "ann@example.com",
      role: "custom",
      permissions: ["smtp.activity"],
    });
    expect(await service.signIn("ann@example.com", "wrong")).toBeNull();
    expect(await service.signIn("nobody@example.com", "correct horse")).toBeNull();
    await service.updateMember(accountId, "ann@example.com", { role: "regular", password: "new secret" });
    expect(await service.signIn("ANN@example.com", "correct horse")).toBeNull();
    expect(await service.signIn("ann@example.com", "new secret")).toMatchObject({
      role: "regular",
      permissions: ["smtp.activity", "smtp.users", "smtp.domains", "smtp.suppressions"],
    });
    await service.removeMember(accountId, "ann@example.com");
    expect(await service.signIn("ann@example.com", "new secret")).toBeNull();
  });

  it("keeps a sending domain to one account and hides DKIM private keys from views (C4)", async () => {
    const { service } = await node();
    const a = await service.createAccount({ name: "A", plan: "free" });
    const b = await service.createAccount({ name: "B", plan: "free" });
    const d = await service.addDomain(a.accountId, domainFixture("shop.example"));
    expect(JSON.stringify(d)).not.toContain("PRIVATE KEY");
    expect(await code(service.addDomain(b.accountId, domainFixture("shop.example")))).toBe("domain_exists");
    const v = await service.domainChecked(a.accountId, "shop.example", checked({}, 10), 10);
    expect(v.status).toBe("verified");
    expect((await service.sendingDomain(a.accountId, "shop.example")).dkim[0].privateKeyPem).toContain(
      "PRIVATE KEY",
    );
    const t = await service.trustDomain(b.accountId, "shop.example", "x").catch((e: AccountError) => e.code);
    expect(t).toBe("domain_not_found");
    await service.deleteDomain(a.accountId, "shop.example");
    expect(await code(service.getDomain(a.accountId, "shop.example"))).toBe("domain_not_found");
  });
});
