/** What callers hand the AccountService (service.ts): its dependencies and its inputs. */
import type { DirectoryView } from "../../shared/directory/view.ts";
import type { Permission, Plan, Role } from "../../shared/model/account/protocol.ts";
import type { SmtpConnectionSettings } from "../../shared/model/account/views.ts";
import type { Clock } from "../clock.ts";

/** What the service needs of an ActorSystem. */
export interface Asker {
  ask<R = unknown>(key: string, msg: unknown, timeoutMs?: number): Promise<R>;
}

export interface AccountServiceOptions {
  actors: Asker;
  /** The plan catalog (config `plans`). */
  plans: readonly Plan[];
  /** Server key of the keyed hashes (API keys, auth cache): shared/security/secrets.ts. */
  hmacKey: Uint8Array;
  /** Needed by the authenticate/signIn methods and the cross-account domain check. */
  directory?: DirectoryView;
  /** Shown with SMTP users (C3 "view details"). */
  connection?: SmtpConnectionSettings;
  clock?: Clock;
  askTimeoutMs?: number;
  /**
   * How long an authentication waits for this node's directory view to show every change
   * acknowledged before it, before asking the account actor instead (auth.ts; default 1 s).
   */
  authSyncTimeoutMs?: number;
}

export interface CreateAccountInput {
  name: string;
  plan: string;
  /** IANA time zone; default UTC. */
  timezone?: string;
  /** Chosen by the caller (tests, imports); generated when absent. */
  accountId?: string;
}

export interface MemberInput {
  email: string;
  role: Role;
  permissions?: Permission[];
  /** Plain password: hashed here, never stored or sent as is. */
  password?: string;
}

export interface MemberPatch {
  role?: Role;
  permissions?: Permission[];
  password?: string;
}
