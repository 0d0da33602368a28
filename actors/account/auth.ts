/**
 * Authentication against this node's DirectoryView: SMTP AUTH (S2), API keys (C5) and member
 * sign-in (C2). A successful SMTP check is cached in memory under a keyed hash of username,
 * password and the user's generation, so a reset (new generation) or a delete (no entry) stops
 * the old password as soon as the view shows it.
 *
 * The bound (S2 "at once", X2 "on every node at once"): a reset, delete or revocation that the API
 * acknowledged — on any node — before a check starts is refused by that check. Each check first
 * passes the view's read barrier (`DirectoryView.sync`: the directory topic's end offsets, then
 * wait for the view to reach them; the actors publish before they answer). If the view cannot
 * catch up within `syncTimeoutMs`, the entry is read from its owner, the account actor, instead.
 * Unknown names cost the same scrypt as wrong passwords, so timing tells nothing about which exist.
 */
import type { ApiKeyEntry, SmtpUserEntry } from "../../shared/directory/entries.ts";
import type { DirectoryView } from "../../shared/directory/view.ts";
import { effectivePermissions, isScope } from "../../shared/model/account/permissions.ts";
import type { Permission } from "../../shared/model/account/protocol.ts";
import type { ApiKeyPrincipal, MemberPrincipal, SmtpPrincipal } from "../../shared/model/account/views.ts";
import { hashPassword, verifyPassword } from "../../shared/security/password.ts";
import { apiKeyId, authCacheKey, digestsEqual, keyedHash } from "../../shared/security/tokens.ts";

const AUTH_CACHE_MAX = 10_000;

/** The entries as their owner, the account actor, holds them now (an ask; authoritative). */
export interface DirectoryOwner {
  smtpUser(accountId: string, username: string): Promise<SmtpUserEntry | undefined>;
  apiKey(accountId: string, keyId: string): Promise<ApiKeyEntry | undefined>;
}

export interface DirectoryAuthOptions {
  directory: DirectoryView;
  hmacKey: Uint8Array;
  /** Asked when the view cannot be shown current in time; unset = the view is trusted as it is. */
  owner?: DirectoryOwner;
  /** How long a check waits for the view to catch up before asking the owner (default 1 s). */
  syncTimeoutMs?: number;
}

export class DirectoryAuth {
  private readonly cache = new Set<string>();
  private dummyHash: Promise<string> | undefined;
  private readonly directory: DirectoryView;
  private readonly hmacKey: Uint8Array;

  constructor(private readonly o: DirectoryAuthOptions) {
    this.directory = o.directory;
    this.hmacKey = o.hmacKey;
  }

  /** The read barrier: true when the view shows every change acknowledged before this call. */
  private current(): Promise<boolean> {
    return this.directory.sync(this.o.syncTimeoutMs);
  }

  async signIn(email: string, password: string, accountId?: string): Promise<MemberPrincipal | null> {
    // A stale view after the timeout is used as it is: sign-in is rare, and a changed password
    // also ends the sessions it made (edge-api/auth/sessions.ts).
    await this.current();
    const candidates = this.directory
      .membersByEmail(email)
      .filter((m) => m.passwordHash !== undefined && (accountId === undefined || m.accountId === accountId))
      .sort((a, b) => a.accountId.localeCompare(b.accountId));
    if (candidates.length === 0) {
      await this.burnHash(password);
      return null;
    }
    for (const m of candidates) {
      if (await verifyPassword(password, m.passwordHash as string)) {
        return {
          accountId: m.accountId,
          email: m.email,
          role: m.role,
          permissions: effectivePermissions(m.role, m.permissions as Permission[]),
        };
      }
    }
    return null;
  }

  async smtp(username: string, password: string): Promise<SmtpPrincipal | null> {
    const current = await this.current();
    let entry = this.directory.smtpUser(username);
    if (!current && entry && this.o.owner) entry = await this.o.owner.smtpUser(entry.accountId, username);
    if (!entry) {
      await this.burnHash(password);
      return null;
    }
    const cacheKey = authCacheKey(this.hmacKey, username, password, entry.generation);
    if (!this.cache.has(cacheKey)) {
      if (!(await verifyPassword(password, entry.passwordHash))) return null;
      if (this.cache.size >= AUTH_CACHE_MAX) this.cache.delete(this.cache.values().next().value as string);
      this.cache.add(cacheKey);
    }
    return {
      accountId: entry.accountId,
      username,
      generation: entry.generation,
      sendingAllowed: this.directory.account(entry.accountId)?.sendingAllowed ?? false,
    };
  }

  async apiKey(key: string): Promise<ApiKeyPrincipal | null> {
    const id = apiKeyId(key);
    if (!id) return null;
    const current = await this.current();
    let entry = this.directory.apiKey(id);
    if (!current && entry && this.o.owner) entry = await this.o.owner.apiKey(entry.accountId, id);
    if (!entry || !digestsEqual(keyedHash(this.hmacKey, key), entry.hash)) return null;
    return { accountId: entry.accountId, keyId: id, scopes: entry.scopes.filter(isScope) };
  }

  private async burnHash(password: string): Promise<void> {
    this.dummyHash ??= hashPassword("petrel-dummy-password");
    await verifyPassword(password, await this.dummyHash);
  }
}
