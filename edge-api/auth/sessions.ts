/**
 * Dashboard sessions (C2 sign-in): a random id in an HttpOnly cookie, the session itself kept
 * server-side in memory with an absolute expiry. Signing out deletes it at once. Memory is per
 * node: in a cluster a sticky load balancer (or a shared store behind this interface) is needed.
 * Runtime-neutral: Web Crypto for the id, an injected clock for time.
 */
import { toBase64Url } from "../../shared/base64url.ts";

export interface Session {
  accountId: string;
  email: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionStoreOptions {
  /** Lifetime of a session, ms (default 12 h). */
  ttlMs?: number;
  /** Most sessions held at once; the oldest go first when full (default 100,000). */
  maxSessions?: number;
  now?: () => number;
}

export const SESSION_COOKIE = "petrel_session";

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(o: SessionStoreOptions = {}) {
    this.ttlMs = o.ttlMs ?? 12 * 3600_000;
    this.max = o.maxSessions ?? 100_000;
    this.now = o.now ?? Date.now;
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  create(accountId: string, email: string): { id: string; session: Session } {
    this.sweep();
    while (this.sessions.size >= this.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const now = this.now();
    const id = randomId();
    const session = { accountId, email, createdAt: now, expiresAt: now + this.ttlMs };
    this.sessions.set(id, session);
    return { id, session };
  }

  /** The live session of this id; an expired one is dropped. */
  get(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (this.now() >= s.expiresAt) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  /** Ends every session of a member (removed member, changed password), but `keep`. */
  deleteMember(accountId: string, email: string, keep?: string): void {
    for (const [id, s] of this.sessions)
      if (s.accountId === accountId && s.email === email && id !== keep) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** One TTL for all: insertion order is expiry order, so expired sessions sit at the front. */
  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) {
      if (now < s.expiresAt) break;
      this.sessions.delete(id);
    }
  }
}

/** 32 random bytes, base64url: the session id. */
export function randomId(bytes = 32): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return toBase64Url(b);
}
