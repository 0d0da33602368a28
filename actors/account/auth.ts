/**
 * Authentication against this node's DirectoryView, with no round trip to an account actor:
 * SMTP AUTH (S2), API keys (C5) and member sign-in (C2). A successful SMTP check is cached in
 * memory under a keyed hash of username, password and the user's generation, so a reset (new
 * generation) or a delete (no entry) stops the old password at once. Unknown names cost the
 * same scrypt as wrong passwords, so timing tells nothing about which exist.
 */
import type { DirectoryView } from "../../shared/directory/view.ts";
import { effectivePermissions, isScope } from "../../shared/model/account/permissions.ts";
import type { Permission } from "../../shared/model/account/protocol.ts";
import type { ApiKeyPrincipal, MemberPrincipal, SmtpPrincipal } from "../../shared/model/account/views.ts";
import { hashPassword, verifyPassword } from "../../shared/security/password.ts";
import { apiKeyId, authCacheKey, digestsEqual, keyedHash } from "../../shared/security/tokens.ts";

const AUTH_CACHE_MAX = 10_000;

export class DirectoryAuth {
  private readonly cache = new Set<string>();
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly directory: DirectoryView,
    private readonly hmacKey: Uint8Array,
  ) {}

  async signIn(email: string, password: string, accountId?: string): Promise<MemberPrincipal | null> {
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
    const entry = this.directory.smtpUser(username);
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
    const entry = id ? this.directory.apiKey(id) : undefined;
    if (!id || !entry || !digestsEqual(keyedHash(this.hmacKey, key), entry.hash)) return null;
    return { accountId: entry.accountId, keyId: id, scopes: entry.scopes.filter(isScope) };
  }

  private async burnHash(password: string): Promise<void> {
    this.dummyHash ??= hashPassword("petrel-dummy-password");
    await verifyPassword(password, await this.dummyHash);
  }
}
