/**
 * The edge directory writer (issue 6, X3): keeps `edge_api_keys` and `edge_accounts`
 * (migrations/0004_edge_directory.ts) current, so that the edge read routes (edge-api/edge.ts)
 * authenticate API keys and serve the quota gauge from ClickHouse, with no redeploy on a change.
 *
 * What it follows:
 *  - the `directory` topic (shared/directory/entries.ts), replayed whole at start then followed
 *    (like shared/directory/view.ts): `api-key:<id>` → a key row, version = directory offset + 1;
 *    its tombstone (C5: a revoked key is tombstoned) → the same key id with `revoked = 1` and an
 *    empty hash. `account:<id>` → the account's row is refreshed.
 *  - the `account.events` topic (plan changes, period closes, cancellation, status): the account's
 *    row is refreshed. The directory's account entry does not change when a period closes.
 * A refresh asks the account actor for its view (plan quota, period, status, time zone) and writes the
 * whole row with a version from this writer's clock (strictly increasing in this process).
 *
 * Idempotent on replay: a key row replayed has the same version and content (ReplacingMergeTree
 * collapses it); an account row replayed is the actor's current state under a newer version. A
 * record counts as processed once its rows are inserted (inserts are synchronous) or, when the insert
 * failed, queued for the retry timer (`retryMs`); a restart refreshes every key and account anyway.
 * Never a key in clear: only the keyed hash the directory already carries.
 */
import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Bus, BusRecord, Subscription } from "../bus/types.ts";
import { DIRECTORY_TOPIC, DIRECTORY_TOPIC_SPEC, decodeEntry, entryKeyId } from "../directory/entries.ts";
import { ACCOUNT_EVENTS_TOPIC, accountOutputTopics } from "../model/account/topics.ts";
import type { AccountView } from "../model/account/views.ts";

export const EDGE_DIRECTORY_GROUP = "edge-directory";

export interface EdgeKeyRow {
  key_id: string;
  key_hash: string;
  account_id: string;
  scopes: string[];
  revoked: 0 | 1;
  revoked_at: string | null;
  version: number;
}

export interface EdgeAccountRow {
  account_id: string;
  status: string;
  timezone: string;
  plan: string;
  quota_limit: number;
  anchor_day: number;
  period_start: string;
  period_end: string;
  cancel_at: string | null;
  version: number;
}

export interface EdgeDirectoryOptions {
  bus: Bus;
  client: Pick<ClickHouseClient, "insert">;
  /** Partitions of the account topics (config.partitions). */
  partitions: number;
  nodeId: string;
  /** The account actor's view (AccountService.getAccount); throws for an unknown account. */
  accounts: { getAccount(accountId: string): Promise<AccountView> };
  onError?(error: unknown): void;
  /** A failed write is retried after this long (default 5 000 ms), records or not. */
  retryMs?: number;
}

export interface EdgeDirectoryWriter {
  /** Resolves once every row pending so far is written. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** `YYYY-MM-DD hh:mm:ss.fff` UTC, the DateTime64 input format of the sink (rows.ts). */
export const chTime = (ms: number): string => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

export function keyRow(
  keyId: string,
  entry: { accountId: string; hash: string; scopes: string[] } | undefined,
  known: { accountId: string } | undefined,
  version: number,
  at: number,
): EdgeKeyRow {
  return entry
    ? {
        key_id: keyId,
        key_hash: entry.hash,
        account_id: entry.accountId,
        scopes: [...entry.scopes],
        revoked: 0,
        revoked_at: null,
        version,
      }
    : {
        key_id: keyId,
        key_hash: "",
        account_id: known?.accountId ?? "",
        scopes: [],
        revoked: 1,
        revoked_at: chTime(at),
        version,
      };
}

export function accountRow(v: AccountView, version: number): EdgeAccountRow {
  return {
    account_id: v.accountId,
    status: v.status,
    timezone: v.timezone,
    plan: v.plan,
    quota_limit: v.quota.limit,
    anchor_day: v.anchorDay,
    period_start: chTime(v.quota.periodStart),
    period_end: chTime(v.quota.periodEnd),
    cancel_at: v.cancelAt === undefined ? null : chTime(v.cancelAt),
    version,
  };
}

function eventAccount(value: Uint8Array): string | undefined {
  try {
    const id = (JSON.parse(new TextDecoder().decode(value)) as { accountId?: unknown }).accountId;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

export async function startEdgeDirectory(o: EdgeDirectoryOptions): Promise<EdgeDirectoryWriter> {
  const keys: EdgeKeyRow[] = [];
  const dirty = new Set<string>();
  const keyAccounts = new Map<string, { accountId: string }>();
  let applied = -1;
  let lastVersion = 0;
  let chain: Promise<void> = Promise.resolve();
  const subs: Subscription[] = [];

  const nextVersion = () => {
    lastVersion = Math.max(lastVersion + 1, Date.now() * 1000);
    return lastVersion;
  };

  const onDirectory = (r: BusRecord): void => {
    if (r.offset <= applied) return;
    applied = r.offset;
    const entry = decodeEntry(r.value);
    const keyId = entryKeyId("api-key", r.key);
    const accountId = entryKeyId("account", r.key);
    if (keyId !== undefined) {
      const e = entry?.kind === "api-key" ? entry : undefined;
      keys.push(keyRow(keyId, e, keyAccounts.get(keyId), r.offset + 1, r.timestamp));
      if (e) keyAccounts.set(keyId, { accountId: e.accountId });
    } else if (accountId !== undefined) {
      dirty.add(accountId);
    }
  };

  const writeNow = async (): Promise<void> => {
    const ids = [...dirty];
    dirty.clear();
    const accountRows: EdgeAccountRow[] = [];
    try {
      for (const id of ids) {
        const v = await o.accounts.getAccount(id).catch((e: unknown) => {
          // An erased account: its keys are tombstoned too; its row is left as last written.
          if ((e as { code?: string })?.code === "account_not_found") return undefined;
          throw e;
        });
        if (v) accountRows.push(accountRow(v, nextVersion()));
      }
      const keyRows = keys.splice(0);
      try {
        if (keyRows.length > 0)
          await o.client.insert({ table: "edge_api_keys", values: keyRows, format: "JSONEachRow" });
      } catch (e) {
        keys.unshift(...keyRows);
        throw e;
      }
      if (accountRows.length > 0)
        await o.client.insert({ table: "edge_accounts", values: accountRows, format: "JSONEachRow" });
    } catch (e) {
      for (const id of ids) dirty.add(id);
      throw e;
    }
  };
  /** Serialised writes; each caller resolves after a write that includes what it queued. */
  const flush = (): Promise<void> => {
    const run = chain.then(writeNow);
    chain = run.catch(() => undefined);
    return run;
  };

  await o.bus.ensureTopics([DIRECTORY_TOPIC_SPEC, ...accountOutputTopics(o.partitions)]);
  await o.bus.replay(DIRECTORY_TOPIC, [0], onDirectory);
  // A store or an actor not answering at start does not stop the relay: the retry timer writes later.
  // A failed write never stops a subscription: what it held stays queued for the retry timer.
  const report = (e: unknown) => o.onError?.(e);
  await flush().catch(report);
  const retry = setInterval(() => {
    if (dirty.size > 0 || keys.length > 0) flush().catch(report);
  }, o.retryMs ?? 5_000);
  retry.unref?.();
  subs.push(
    await o.bus.subscribe({
      group: `${EDGE_DIRECTORY_GROUP}.${o.nodeId}.${randomUUID()}`,
      topics: [DIRECTORY_TOPIC],
      fromBeginning: true,
      autoCommit: false,
      handler: async (r) => {
        onDirectory(r);
        await flush().catch(report);
      },
      onError: (e) => o.onError?.(e),
    }),
  );
  // Account events: one node of the group per partition; from the end, as the start refreshed all.
  subs.push(
    await o.bus.subscribe({
      group: EDGE_DIRECTORY_GROUP,
      topics: [ACCOUNT_EVENTS_TOPIC],
      fromBeginning: false,
      handler: async (r) => {
        const accountId = eventAccount(r.value);
        if (accountId === undefined) return;
        dirty.add(accountId);
        await flush().catch(report);
      },
      onError: (e) => o.onError?.(e),
    }),
  );

  return {
    flush,
    async close() {
      clearInterval(retry);
      for (const s of subs.splice(0)) await s.close();
      await chain;
    },
  };
}
