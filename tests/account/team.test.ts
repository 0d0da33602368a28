/**
 * The account actor's members (C2), SMTP users (C3), API keys (C5) and sending domains (C4)
 * through the real ActorSystem on the LogBus, and what the directory shows of them.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ApiKey, Member, SendingDomain, SmtpUser } from "../../shared/model/account/protocol.ts";
import { waitFor } from "../helpers/wait.ts";
import { checked, domainFixture } from "./fixtures.ts";
import { eventsOf, type Node, plan, startNode, tempDir } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function account(id = "t1", opts: Parameters<typeof startNode>[1] = {}): Promise<Node> {
  const n = await startNode(tempDir(cleanups), opts);
  cleanups.push(() => n.stop());
  await n.ask(id, { t: "create", name: "Team", plan: plan("starter"), timezone: "UTC" });
  return n;
}

describe("account actor: members, SMTP users, API keys", () => {
  it("keeps members with roles and never loses its last administrator", async () => {
    const n = await account();
    const admin = await n.ask<Member>("t1", {
      t: "addMember",
      email: " Boss@Example.com ",
      role: "admin",
      permissions: [],
      passwordHash: "h1",
    });
    expect(admin).toMatchObject({
      email: "boss@example.com",
      role: "admin",
      permissions: [],
      passwordHash: "h1",
    });
    expect(
      await n.raw("t1", { t: "addMember", email: "boss@example.com", role: "regular", permissions: [] }),
    ).toMatchObject({ ok: false, code: "member_exists" });
    expect(
      await n.raw("t1", { t: "addMember", email: "not-an-email", role: "regular", permissions: [] }),
    ).toMatchObject({ ok: false, code: "invalid_request" });
    const custom = await n.ask<Member>("t1", {
      t: "addMember",
      email: "c@example.com",
      role: "custom",
      permissions: ["smtp.activity", "smtp.activity"],
    });
    expect(custom.permissions).toEqual(["smtp.activity"]);
    expect(
      await n.raw("t1", {
        t: "addMember",
        email: "x@example.com",
        role: "custom",
        permissions: ["root" as never],
      }),
    ).toMatchObject({ ok: false, code: "invalid_request" });
    expect(await n.raw("t1", { t: "removeMember", email: "boss@example.com" })).toMatchObject({
      ok: false,
      code: "last_admin",
    });
    expect(
      await n.raw("t1", { t: "updateMember", email: "boss@example.com", role: "regular" }),
    ).toMatchObject({ ok: false, code: "last_admin" });
    expect(
      await n.ask<Member>("t1", { t: "updateMember", email: "c@example.com", role: "admin" }),
    ).toMatchObject({ role: "admin", permissions: [] });
    expect(await n.ask("t1", { t: "removeMember", email: "boss@example.com" })).toBeNull();
    expect(await n.raw("t1", { t: "removeMember", email: "boss@example.com" })).toMatchObject({
      ok: false,
      code: "member_not_found",
    });
    expect(
      await n.directory.waitFor(() => n.directory.membersByEmail("C@example.com")[0]?.role === "admin"),
    ).toBe(true);
    expect(n.directory.member("t1", "boss@example.com")).toBeUndefined();
  });

  it("creates, resets and deletes SMTP users, bumping the generation on reset", async () => {
    const n = await account();
    const u = await n.ask<SmtpUser>("t1", {
      t: "createSmtpUser",
      username: "ptl_aaaa",
      name: "app",
      passwordHash: "h1",
    });
    expect(u).toMatchObject({ username: "ptl_aaaa", name: "app", generation: 1 });
    expect(
      await n.raw("t1", { t: "createSmtpUser", username: "ptl_aaaa", name: "", passwordHash: "h" }),
    ).toMatchObject({ ok: false, code: "smtp_user_exists" });
    expect(
      await n.ask<SmtpUser>("t1", { t: "resetSmtpUser", username: "ptl_aaaa", passwordHash: "h2" }),
    ).toMatchObject({ passwordHash: "h2", generation: 2 });
    expect(await n.directory.waitFor(() => n.directory.smtpUser("ptl_aaaa")?.passwordHash === "h2")).toBe(
      true,
    );
    expect(n.directory.smtpUser("ptl_aaaa")).toMatchObject({ accountId: "t1", generation: 2 });
    expect(await n.ask("t1", { t: "deleteSmtpUser", username: "ptl_aaaa" })).toBeNull();
    expect(await n.raw("t1", { t: "resetSmtpUser", username: "ptl_aaaa", passwordHash: "h3" })).toMatchObject(
      { ok: false, code: "smtp_user_not_found" },
    );
    expect(await n.directory.waitFor(() => n.directory.smtpUser("ptl_aaaa") === undefined)).toBe(true);
  });

  it("creates and revokes API keys; a revoked key leaves the directory", async () => {
    const n = await account();
    const k = await n.ask<ApiKey>("t1", {
      t: "createApiKey",
      key: { id: "abcdefghijkl", label: "ci", hash: "ff00", scopes: ["stats:read"], createdAt: 0 },
    });
    expect(k).toMatchObject({ id: "abcdefghijkl", scopes: ["stats:read"], createdAt: n.clock.now() });
    expect(
      await n.raw("t1", {
        t: "createApiKey",
        key: { id: "abcdefghijkm", label: "", hash: "ff", scopes: ["root" as never], createdAt: 0 },
      }),
    ).toMatchObject({ ok: false, code: "invalid_request" });
    expect(await n.directory.waitFor(() => n.directory.apiKey("abcdefghijkl")?.accountId === "t1")).toBe(
      true,
    );
    expect(await n.ask<ApiKey>("t1", { t: "revokeApiKey", id: "abcdefghijkl" })).toMatchObject({
      revokedAt: n.clock.now(),
    });
    expect(await n.raw("t1", { t: "revokeApiKey", id: "nope" })).toMatchObject({
      ok: false,
      code: "api_key_not_found",
    });
    expect(await n.directory.waitFor(() => n.directory.apiKey("abcdefghijkl") === undefined)).toBe(true);
  });
});

describe("account actor: sending domains (C4)", () => {
  it("verifies when all three records are, loses it when a re-check fails, and trusts on request", async () => {
    const n = await account();
    const added = await n.ask<SendingDomain>("t1", { t: "addDomain", domain: domainFixture("Example.COM") });
    expect(added).toMatchObject({
      domain: "example.com",
      status: "pending",
      trusted: false,
      addedAt: n.clock.now(),
    });
    expect(await n.raw("t1", { t: "addDomain", domain: domainFixture("example.com") })).toMatchObject({
      ok: false,
      code: "domain_exists",
    });

    const partial = await n.ask<SendingDomain>("t1", {
      t: "domainChecked",
      domain: "example.com",
      records: checked({ dkim2: "missing" }, 1),
      at: 1,
    });
    expect(partial.status).toBe("pending");
    expect(partial.records.find((r) => r.kind === "dkim2")).toMatchObject({
      status: "missing",
      detail: "dkim2 is missing",
      checkedAt: 1,
    });

    const ok = await n.ask<SendingDomain>("t1", {
      t: "domainChecked",
      domain: "example.com",
      records: checked({}, 2),
      at: 2,
    });
    expect(ok).toMatchObject({ status: "verified", verifiedAt: 2, lastCheckAt: 2 });
    expect(await n.directory.waitFor(() => n.directory.maySendFrom("t1", "EXAMPLE.com"))).toBe(true);
    expect(n.directory.sendingDomain("example.com")).toMatchObject({
      accountId: "t1",
      status: "verified",
      activeSelector: "pt1",
    });
    expect(JSON.stringify(n.directory.sendingDomain("example.com"))).not.toContain("PRIVATE KEY");

    const lost = await n.ask<SendingDomain>("t1", {
      t: "domainChecked",
      domain: "example.com",
      records: checked({ return_path: "wrong" }, 3),
      at: 3,
    });
    expect(lost.status).toBe("failed");
    await eventsOf(n, "domain_lost_verification");
    expect(await n.directory.waitFor(() => !n.directory.maySendFrom("t1", "example.com"))).toBe(true);

    const trusted = await n.ask<SendingDomain>("t1", {
      t: "trustDomain",
      domain: "example.com",
      by: "operator-cli",
    });
    expect(trusted).toMatchObject({ status: "verified", trusted: true, trustedBy: "operator-cli" });
    const [ev] = await eventsOf(n, "domain_trusted");
    expect(ev?.value).toMatchObject({ domain: "example.com", by: "operator-cli" });
    // A trusted domain stays verified whatever DNS says.
    expect(
      await n.ask<SendingDomain>("t1", {
        t: "domainChecked",
        domain: "example.com",
        records: checked({ dkim1: "missing" }, 4),
        at: 4,
      }),
    ).toMatchObject({ status: "verified" });

    expect(await n.ask("t1", { t: "deleteDomain", domain: "example.com" })).toBeNull();
    expect(
      await n.raw("t1", { t: "domainChecked", domain: "example.com", records: [], at: 5 }),
    ).toMatchObject({ ok: false, code: "domain_not_found" });
    expect(await n.directory.waitFor(() => n.directory.sendingDomain("example.com") === undefined)).toBe(
      true,
    );
    expect(n.directory.account("t1")?.verifiedDomains).toEqual([]);
  });

  it("asks for re-verification of untrusted domains every N hours", async () => {
    const n = await account("rv", { reverifyHours: 6 });
    await n.ask("rv", { t: "addDomain", domain: domainFixture("one.example") });
    await n.ask("rv", { t: "addDomain", domain: domainFixture("two.example") });
    await n.ask("rv", { t: "trustDomain", domain: "two.example", by: "test" });
    n.clock.advance(6 * 3_600_000);
    const first = await waitFor(() => {
      const v = n.emitted.filter((e) => e.topic === "domain.verify");
      return v.length >= 1 ? v : undefined;
    });
    expect(first.map((e) => [e.key, e.value])).toEqual([
      ["account:rv", { accountId: "rv", domain: "one.example" }],
    ]);
    n.clock.advance(6 * 3_600_000); // re-armed: a second round
    await waitFor(() => n.emitted.filter((e) => e.topic === "domain.verify").length >= 2);
    expect(n.emitted.filter((e) => e.topic === "domain.verify").map((e) => e.value.domain)).toEqual([
      "one.example",
      "one.example",
    ]);
  });

  it("refuses malformed domains", async () => {
    const n = await account();
    const bad = { ...domainFixture("example.org"), domain: "not a domain" };
    expect(await n.raw("t1", { t: "addDomain", domain: bad })).toMatchObject({
      ok: false,
      code: "invalid_request",
    });
    const oneKey = {
      ...domainFixture("example.org"),
      dkim: [domainFixture("x.org").dkim[0]] as unknown as SendingDomain["dkim"],
    };
    expect(await n.raw("t1", { t: "addDomain", domain: oneKey })).toMatchObject({
      ok: false,
      code: "invalid_request",
    });
  });
});
