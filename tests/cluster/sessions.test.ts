/**
 * Issue 13 item 5 (dashboard part), X2 "dashboard sessions hold on every node at once": a session
 * cookie made by node A's API is valid on node B's; signing out on one node, removing the member or
 * changing its password on one node ends it on the other at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SystemClock } from "../../actors/clock.ts";
import { createSessionBehavior } from "../../actors/session/behavior.ts";
import { SessionService } from "../../actors/session/service.ts";
import { createApp } from "../../edge-api/app.ts";
import { createControl } from "../../edge-api/control.ts";
import { call, signIn } from "../api/harness.ts";
import { startTwoNodes, type TestNode, type TwoNodes } from "./two-nodes.ts";

const TOKEN = "cluster-operator-token-0123456789";
const A = "acct-sessions";
let nodes: TwoNodes;
let appA: ReturnType<typeof createApp>;
let appB: ReturnType<typeof createApp>;

function appOf(n: TestNode): ReturnType<typeof createApp> {
  const clock = new SystemClock();
  const control = createControl({
    accounts: n.service,
    actors: n.system,
    directory: n.directory,
    resolver: { resolveCname: async () => [] },
    clock,
    zone: { provider: "petrel.test" },
    adminToken: TOKEN,
    sessions: new SessionService({ actors: n.system, accounts: n.service, now: () => clock.now() }),
  });
  return createApp({ version: "test", readiness: () => ({ ready: true, checks: {} }), control });
}

const status = async (app: ReturnType<typeof createApp>, cookie: Record<string, string>) =>
  (await call(app, "get", "/v1/account", { headers: cookie })).status;

beforeAll(async () => {
  nodes = await startTwoNodes({ register: (system) => system.register(createSessionBehavior()) });
  appA = appOf(nodes.a);
  appB = appOf(nodes.b);
  await nodes.a.service.createAccount({ accountId: A, name: "Sessions", plan: "starter" });
  await nodes.a.service.addMember(A, { email: "boss@s.test", role: "admin", password: "boss-password-1" });
}, 60_000);

afterAll(async () => {
  await nodes?.stop();
});

describe("a dashboard session on two nodes", () => {
  it("made on node A works on node B; signed out on B, it is refused on A", async () => {
    const cookie = await signIn(appA, "boss@s.test", "boss-password-1");
    expect(await status(appB, cookie)).toBe(200);
    const me = await call(appB, "get", "/v1/session", { headers: cookie });
    expect(me.body).toMatchObject({ kind: "member", accountId: A, email: "boss@s.test" });
    expect(me.body.expiresAt).toBeGreaterThan(Date.now());
    expect((await call(appB, "delete", "/v1/session", { headers: cookie })).status).toBe(204);
    expect(await status(appA, cookie)).toBe(401);
    expect(await status(appB, cookie)).toBe(401);
  });

  it("ends on node B when node A removes the member", async () => {
    await nodes.a.service.addMember(A, { email: "temp@s.test", role: "admin", password: "temp-password-1" });
    const cookie = await signIn(appB, "temp@s.test", "temp-password-1");
    expect(await status(appA, cookie)).toBe(200);
    const r = await call(appA, "delete", `/v1/admin/accounts/${A}/members/temp@s.test`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(r.status).toBe(204);
    expect(await status(appB, cookie)).toBe(401);
  });

  it("a password change on node A ends the member's other sessions on node B, not the one that made it", async () => {
    await nodes.a.service.addMember(A, { email: "pw@s.test", role: "admin", password: "first-password-1" });
    const laptop = await signIn(appA, "pw@s.test", "first-password-1");
    const phone = await signIn(appB, "pw@s.test", "first-password-1");
    const r = await call(appA, "patch", "/v1/members/pw@s.test", {
      headers: laptop,
      body: { password: "second-password-2" },
    });
    expect(r.status).toBe(200);
    expect(await status(appB, phone)).toBe(401);
    expect(await status(appB, laptop)).toBe(200);
    expect(await status(appA, laptop)).toBe(200);
  });
});
