/**
 * The directory view (issue 3 item 2): every node folds the `directory` topic into memory and
 * follows it; a deleted SMTP user or a reset password is seen by another node's view within a
 * second; a view opened later reads the topic whole and never moves an entry back in time.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { LogBus } from "../../shared/bus/log/log-bus.ts";
import { DIRECTORY_TOPIC, encodeEntry, smtpUserKey } from "../../shared/directory/entries.ts";
import { DirectoryView } from "../../shared/directory/view.ts";
import { type Node, startNode, tempDir } from "../account/harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function node(): Promise<Node> {
  const n = await startNode(tempDir(cleanups));
  cleanups.push(() => n.stop());
  return n;
}

async function view(n: Node, nodeId: string): Promise<DirectoryView> {
  const v = await DirectoryView.open({ bus: n.bus, nodeId });
  cleanups.push(() => v.close());
  return v;
}

describe("DirectoryView", () => {
  it("sees a reset password and a deleted SMTP user within a second, on another node's view", async () => {
    const n = await node();
    const other = await view(n, "node-2");
    const { accountId } = await n.service.createAccount({ name: "Dir", plan: "free" });
    const u = await n.service.createSmtpUser(accountId);
    expect(await other.waitFor(() => other.smtpUser(u.username) !== undefined, 1_000)).toBe(true);
    const before = other.smtpUser(u.username);
    expect(before).toMatchObject({ accountId, generation: 1 });

    await n.service.resetSmtpUser(accountId, u.username);
    expect(await other.waitFor(() => other.smtpUser(u.username)?.generation === 2, 1_000)).toBe(true);
    expect(other.smtpUser(u.username)?.passwordHash).not.toBe(before?.passwordHash);

    await n.service.deleteSmtpUser(accountId, u.username);
    expect(await other.waitFor(() => other.smtpUser(u.username) === undefined, 1_000)).toBe(true);
  });

  it("reads the whole topic on open and never replays an older value over a newer one", async () => {
    const n = await node();
    const { accountId } = await n.service.createAccount({ name: "Whole", plan: "free" });
    const kept = await n.service.createSmtpUser(accountId);
    const reset = await n.service.createSmtpUser(accountId);
    const gone = await n.service.createSmtpUser(accountId);
    await n.service.resetSmtpUser(accountId, reset.username);
    await n.service.deleteSmtpUser(accountId, gone.username);

    const fresh = await view(n, "node-3");
    const changes: string[] = [];
    fresh.onChange((key) => changes.push(key));
    expect(fresh.smtpUser(kept.username)?.generation).toBe(1);
    expect(fresh.smtpUser(reset.username)?.generation).toBe(2);
    expect(fresh.smtpUser(gone.username)).toBeUndefined();
    expect(fresh.account(accountId)).toMatchObject({
      status: "active",
      sendingAllowed: true,
      verifiedDomains: [],
    });

    // One new change: the follow-up subscription (which starts from the beginning) delivers only it.
    const later = await n.service.createSmtpUser(accountId);
    expect(await fresh.waitFor(() => fresh.smtpUser(later.username) !== undefined, 1_000)).toBe(true);
    expect(changes).toEqual([smtpUserKey(later.username)]);
    expect(fresh.smtpUser(reset.username)?.generation).toBe(2);
    expect(fresh.smtpUser(gone.username)).toBeUndefined();
  });

  it("ignores values it cannot read and treats an empty value as a tombstone", async () => {
    const n = await node();
    const v = await view(n, "node-4");
    const bus: LogBus = n.bus;
    await bus.publish(DIRECTORY_TOPIC, [
      { key: "smtp-user:junk", value: new TextEncoder().encode("{not json") },
      {
        key: "smtp-user:manual",
        value: encodeEntry({
          kind: "smtp-user",
          accountId: "a",
          username: "manual",
          passwordHash: "h",
          generation: 1,
        }),
      },
    ]);
    expect(await v.waitFor(() => v.smtpUser("manual") !== undefined, 1_000)).toBe(true);
    expect(v.smtpUser("junk")).toBeUndefined();
    await bus.publish(DIRECTORY_TOPIC, [{ key: "smtp-user:manual", value: new Uint8Array(0) }]);
    expect(await v.waitFor(() => v.smtpUser("manual") === undefined, 1_000)).toBe(true);
  });
});
