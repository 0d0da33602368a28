/**
 * The dashboard session gateway (C2, X2): what the API's sign-in, sign-out and cookie check call.
 * A session id is 32 random bytes (base64url, the cookie's value); the session actor of its shard
 * (behavior.ts) holds it under the id's SHA-256. Every check reads the member afresh from the
 * account actor, so a role change applies on the next request, and ends the session when the
 * member is gone or its password hash is no longer the one the session was made under (a password
 * change ends the member's other sessions on every node; `passwordChanged` keeps the one that
 * made it). Both reads are actor asks, answered by whichever node owns the actor: a session is
 * valid, or ended, on every node at once.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Member } from "../../shared/model/account/protocol.ts";
import { type MemberView, memberView } from "../../shared/model/account/views.ts";
import type { AccountService, Asker } from "../account/service.ts";
import { sessionKey } from "../keys.ts";
import type { SessionMsg, SessionRow } from "./behavior.ts";

export interface SessionView {
  accountId: string;
  email: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionServiceOptions {
  actors: Asker;
  accounts: Pick<AccountService, "state">;
  /** Lifetime of a session, ms (default 12 h). */
  ttlMs?: number;
  now?: () => number;
  askTimeoutMs?: number;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("base64url");

/** The id's hash: the row key, never the id itself. */
export const sessionHash = (id: string) => sha256(`petrel session v1\0${id}`);
/** What a session remembers of the password it was made under. */
const fingerprint = (passwordHash: string | undefined) =>
  sha256(`petrel pw v1\0${passwordHash ?? ""}`).slice(0, 22);

const ID = /^[A-Za-z0-9_-]{43}$/;

export class SessionService {
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly o: SessionServiceOptions) {
    this.ttlMs = o.ttlMs ?? 12 * 3600_000;
    this.now = o.now ?? Date.now;
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  /** A new session of a member who has just signed in. */
  async create(accountId: string, email: string): Promise<{ id: string; session: SessionView }> {
    const member = await this.member(accountId, email);
    if (!member) throw new Error(`no member ${email} in ${accountId}`);
    const id = randomBytes(32).toString("base64url");
    const now = this.now();
    const row: SessionRow = {
      accountId,
      email: member.email,
      createdAt: now,
      expiresAt: now + this.ttlMs,
      pw: fingerprint(member.passwordHash),
    };
    await this.ask({ t: "put", hash: sessionHash(id), row });
    return { id, session: view(row) };
  }

  /** The live session of this id and its member as it is now; a stale one is ended. */
  async resolve(id: string): Promise<{ session: SessionView; member: MemberView } | undefined> {
    if (!ID.test(id)) return undefined;
    const hash = sessionHash(id);
    const row = await this.ask<SessionRow | null>({ t: "get", hash });
    if (!row || row.expiresAt <= this.now()) return undefined;
    const member = await this.member(row.accountId, row.email);
    if (!member || fingerprint(member.passwordHash) !== row.pw) {
      await this.ask({ t: "delete", hash });
      return undefined;
    }
    return { session: view(row), member: memberView(member) };
  }

  /** Sign-out: the session ends at once, on every node. */
  async delete(id: string): Promise<void> {
    if (ID.test(id)) await this.ask({ t: "delete", hash: sessionHash(id) });
  }

  /**
   * The member's password changed: its other sessions no longer match and end on their next use;
   * `keep` (the session that made the change, if it is this member's) is moved to the new password.
   */
  async passwordChanged(accountId: string, email: string, keep?: string): Promise<void> {
    if (keep === undefined || !ID.test(keep)) return;
    const hash = sessionHash(keep);
    const row = await this.ask<SessionRow | null>({ t: "get", hash });
    if (!row || row.accountId !== accountId || row.email.toLowerCase() !== email.trim().toLowerCase()) return;
    const member = await this.member(accountId, email);
    if (member) await this.ask({ t: "restamp", hash, pw: fingerprint(member.passwordHash) });
  }

  private async member(accountId: string, email: string): Promise<Member | undefined> {
    let members: Record<string, Member>;
    try {
      members = (await this.o.accounts.state(accountId)).members;
    } catch (e) {
      // An account that no longer exists has no members; any other failure is the server's.
      if (e instanceof Error && e.name === "AccountError") return undefined;
      throw e;
    }
    const wanted = email.trim().toLowerCase();
    return Object.values(members).find((m) => m.email.toLowerCase() === wanted);
  }

  private ask<R = null>(msg: SessionMsg): Promise<R> {
    return this.o.actors.ask<R>(sessionKey(msg.hash), msg, this.o.askTimeoutMs);
  }
}

const view = (r: SessionRow): SessionView => ({
  accountId: r.accountId,
  email: r.email,
  createdAt: r.createdAt,
  expiresAt: r.expiresAt,
});
