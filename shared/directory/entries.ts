/**
 * The directory: what the data path (ingress AUTH, sender checks, API authentication, zone
 * export) needs to know about accounts, without a round trip to an account actor. The account
 * actors publish it on one compacted topic; every node folds it into a DirectoryView.
 *
 * Keys, one function each:
 *   `smtp-user:<username>`       → SmtpUserEntry      (S2, C3)
 *   `account:<accountId>`        → AccountEntry       (C1, C2, S7)
 *   `api-key:<keyId>`            → ApiKeyEntry        (C5; revoked keys are tombstoned)
 *   `member:<accountId>:<email>` → MemberEntry        (C2 dashboard sign-in)
 *   `sending-domain:<domain>`    → SendingDomainEntry (C4 zone export, S7)
 * A tombstone (empty value) removes the key.
 */
import type { TopicSpec } from "../bus/types.ts";
import type { AccountStatus, DkimAlgorithm, Role, SendingDomainStatus } from "../model/account/protocol.ts";

export const DIRECTORY_TOPIC = "directory";
/** One partition: the directory is small, and one total order makes reading it simple. */
export const DIRECTORY_TOPIC_SPEC: TopicSpec = { name: DIRECTORY_TOPIC, partitions: 1, compacted: true };

export interface SmtpUserEntry {
  kind: "smtp-user";
  accountId: string;
  username: string;
  passwordHash: string;
  /** Bumped on reset: auth caches keyed on an older generation are invalid. */
  generation: number;
}

export interface AccountEntry {
  kind: "account";
  accountId: string;
  status: AccountStatus;
  /** C2: an active plan gates everything SMTP. */
  sendingAllowed: boolean;
  /** Lower-case names of the account's verified sending domains (S7). */
  verifiedDomains: string[];
  timezone: string;
}

export interface ApiKeyEntry {
  kind: "api-key";
  accountId: string;
  keyId: string;
  /** Keyed hash (HMAC-SHA256, hex) of the whole key: shared/security/tokens.ts. */
  hash: string;
  scopes: string[];
}

export interface MemberEntry {
  kind: "member";
  accountId: string;
  email: string;
  role: Role;
  permissions: string[];
  passwordHash?: string;
}

export interface SendingDomainEntry {
  kind: "sending-domain";
  accountId: string;
  domain: string;
  status: SendingDomainStatus;
  activeSelector: string;
  returnPathHost: string;
  /** Public halves only: what the provider zone publishes (C4). */
  dkim: { selector: string; algorithm: DkimAlgorithm; publicKey: string }[];
}

export type DirectoryEntry = SmtpUserEntry | AccountEntry | ApiKeyEntry | MemberEntry | SendingDomainEntry;

type EntryKind = DirectoryEntry["kind"];
/** A directory key is `<kind>:<id>`: the kind of the entry it holds, then what names it. */
const entryKey = (kind: EntryKind, id: string) => `${kind}:${id}`;

export const smtpUserKey = (username: string) => entryKey("smtp-user", username);
export const accountEntryKey = (accountId: string) => entryKey("account", accountId);
export const apiKeyKey = (keyId: string) => entryKey("api-key", keyId);
export const memberKey = (accountId: string, email: string) =>
  entryKey("member", `${accountId}:${email.toLowerCase()}`);
export const sendingDomainKey = (domain: string) => entryKey("sending-domain", domain.toLowerCase());

/** The id a directory key of `kind` names (`account:<accountId>` → the account id); else undefined. */
export function entryKeyId(kind: EntryKind, key: string): string | undefined {
  const prefix = `${kind}:`;
  return key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeEntry(entry: DirectoryEntry | undefined): Uint8Array {
  return entry ? encoder.encode(JSON.stringify(entry)) : new Uint8Array(0);
}

/** undefined for a tombstone or a value this version does not understand. */
export function decodeEntry(value: Uint8Array): DirectoryEntry | undefined {
  if (value.length === 0) return undefined;
  try {
    const e = JSON.parse(decoder.decode(value)) as DirectoryEntry;
    return typeof e === "object" && e !== null && typeof e.kind === "string" ? e : undefined;
  } catch {
    return undefined;
  }
}
