/**
 * The account's part of the directory (shared/directory/entries.ts), derived from its state,
 * and the changes between two states: set records for new or changed entries, tombstones for
 * removed ones. Pure; the behavior emits the result after each transition.
 */
import {
  accountEntryKey,
  apiKeyKey,
  type DirectoryEntry,
  memberKey,
  sendingDomainKey,
  smtpUserKey,
} from "../../shared/directory/entries.ts";
import type { AccountState } from "../../shared/model/account/protocol.ts";

export interface DirectoryChange {
  key: string;
  /** undefined = tombstone. */
  entry: DirectoryEntry | undefined;
}

export function directoryEntries(s: AccountState): Map<string, DirectoryEntry> {
  const out = new Map<string, DirectoryEntry>();
  if (!s.exists) return out;
  const domains = Object.values(s.domains);
  out.set(accountEntryKey(s.id), {
    kind: "account",
    accountId: s.id,
    status: s.status,
    sendingAllowed: s.status === "active",
    verifiedDomains: domains
      .filter((d) => d.status === "verified")
      .map((d) => d.domain.toLowerCase())
      .sort(),
    timezone: s.timezone,
  });
  for (const u of Object.values(s.smtpUsers)) {
    out.set(smtpUserKey(u.username), {
      kind: "smtp-user",
      accountId: s.id,
      username: u.username,
      passwordHash: u.passwordHash,
      generation: u.generation,
    });
  }
  for (const k of Object.values(s.apiKeys)) {
    if (k.revokedAt !== undefined) continue;
    out.set(apiKeyKey(k.id), {
      kind: "api-key",
      accountId: s.id,
      keyId: k.id,
      hash: k.hash,
      scopes: [...k.scopes],
    });
  }
  for (const m of Object.values(s.members)) {
    out.set(memberKey(s.id, m.email), {
      kind: "member",
      accountId: s.id,
      email: m.email,
      role: m.role,
      permissions: [...m.permissions],
      ...(m.passwordHash !== undefined ? { passwordHash: m.passwordHash } : {}),
    });
  }
  for (const d of domains) {
    out.set(sendingDomainKey(d.domain), {
      kind: "sending-domain",
      accountId: s.id,
      domain: d.domain.toLowerCase(),
      status: d.status,
      activeSelector: d.activeSelector,
      returnPathHost: d.returnPathHost,
      dkim: d.dkim.map((k) => ({ selector: k.selector, algorithm: k.algorithm, publicKey: k.publicKey })),
    });
  }
  return out;
}

/** Nothing the directory shows can differ when these parts are the same objects. */
function sameDirectoryParts(a: AccountState, b: AccountState): boolean {
  return (
    a === b ||
    (a.exists === b.exists &&
      a.status === b.status &&
      a.timezone === b.timezone &&
      a.members === b.members &&
      a.smtpUsers === b.smtpUsers &&
      a.domains === b.domains &&
      a.apiKeys === b.apiKeys)
  );
}

export function directoryChanges(before: AccountState, after: AccountState): DirectoryChange[] {
  if (sameDirectoryParts(before, after)) return [];
  const old = directoryEntries(before);
  const now = directoryEntries(after);
  const changes: DirectoryChange[] = [];
  for (const [key, entry] of now) {
    const prev = old.get(key);
    if (!prev || JSON.stringify(prev) !== JSON.stringify(entry)) changes.push({ key, entry });
  }
  for (const key of old.keys()) if (!now.has(key)) changes.push({ key, entry: undefined });
  return changes;
}
