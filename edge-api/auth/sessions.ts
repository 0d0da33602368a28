/**
 * Dashboard sessions (C2 sign-in) as the API sees them: a random id in an HttpOnly cookie, the
 * session itself held server-side where every node finds it (actors/session: a session actor per
 * shard), with an absolute expiry. Sign-out ends it at once on every node; a removed member's or a
 * changed password's sessions end on their next use. Only the shape crosses into edge-api, so it
 * stays runtime-neutral.
 */
import { toBase64Url } from "../../shared/base64url.ts";
import type { MemberView } from "../../shared/model/account/views.ts";

export interface Session {
  accountId: string;
  email: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  /** The cookie's Max-Age: the session's lifetime. */
  readonly maxAgeSeconds: number;
  create(accountId: string, email: string): Promise<{ id: string; session: Session }>;
  /** The live session of this id with its member as it is now; undefined = expired or ended. */
  resolve(id: string): Promise<{ session: Session; member: MemberView } | undefined>;
  delete(id: string): Promise<void>;
  /** A member's password changed: its other sessions end; `keep` (the one that changed it) goes on. */
  passwordChanged(accountId: string, email: string, keep?: string): Promise<void>;
}

export const SESSION_COOKIE = "petrel_session";

/** 32 random bytes, base64url. */
export function randomId(bytes = 32): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return toBase64Url(b);
}
