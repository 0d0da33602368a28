/**
 * Actor keys are explicit and deterministic, built by one function each (KumoMTA queue names):
 * `account:<accountId>`, `domain:<recipient-domain>`, `suppression:<accountId>`, `client:<ip>`,
 * `content:<bucket>`. The part before the first colon is the actor type and picks its behavior;
 * the whole key picks the partition.
 */
export type ActorType = string;

/** The actor types, as their behaviors declare them (`Behavior.type`). */
export const ACCOUNT_ACTOR_TYPE = "account";
export const DOMAIN_ACTOR_TYPE = "domain";
export const SUPPRESSION_ACTOR_TYPE = "suppression";
export const CONTENT_ACTOR_TYPE = "content";
export const SESSION_ACTOR_TYPE = "session";

export function actorKey(type: ActorType, id: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(type)) throw new Error(`invalid actor type ${JSON.stringify(type)}`);
  if (id.length === 0) throw new Error(`empty ${type} actor id`);
  return `${type}:${id}`;
}

export function accountKey(accountId: string): string {
  return actorKey(ACCOUNT_ACTOR_TYPE, accountId);
}

/** Recipient domains are case-insensitive: one actor per lower-cased domain. */
export function domainKey(recipientDomain: string): string {
  return actorKey(DOMAIN_ACTOR_TYPE, recipientDomain.toLowerCase());
}

/** An account's suppression list (D8) is an actor of its own, beside the account actor. */
export function suppressionKey(accountId: string): string {
  return actorKey(SUPPRESSION_ACTOR_TYPE, accountId);
}

/** The content ledger's bucket of a message (actors/content): `content:<0..255>`, a hash of the id. */
export function contentKey(messageId: string): string {
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < messageId.length; i++) h = Math.imul(h ^ messageId.charCodeAt(i), 0x01000193);
  return actorKey(CONTENT_ACTOR_TYPE, String((h >>> 0) % 256));
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * A client IP address in one spelling, so that one client is one actor: IPv4 as dotted quad;
 * IPv6 in RFC 5952 form (lower case, zeros compressed: the WHATWG URL parser's, so the same on
 * Node and Deno), without brackets or zone id (it names our interface, not the client); an
 * IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack listener reports) as its IPv4.
 * Throws for anything that is not an IP address.
 */
export function normalizeIp(raw: string): string {
  let s = raw.trim().toLowerCase();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (IPV4.test(s)) return s;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  let v6: string;
  try {
    if (!s.includes(":") || !/^[0-9a-f:.]+$/.test(s)) throw new Error();
    v6 = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  } catch {
    throw new Error(`not an IP address: ${JSON.stringify(raw)}`);
  }
  const m = MAPPED.exec(v6);
  if (!m) return v6;
  const hi = Number.parseInt(m[1] as string, 16);
  const lo = Number.parseInt(m[2] as string, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** S3, S4: one actor per client IP, its address normalised (`normalizeIp`). */
export function clientKey(ip: string): string {
  return actorKey("client", normalizeIp(ip));
}

/**
 * A dashboard session's shard (actors/session): `session:<c>`, `c` the first character of the
 * session id's SHA-256 in base64url (64 shards). Takes the hash, never the id (a bearer secret).
 */
export function sessionKey(sessionHash: string): string {
  return actorKey(SESSION_ACTOR_TYPE, sessionHash.slice(0, 1));
}

export function parseActorKey(key: string): { type: ActorType; id: string } {
  const i = key.indexOf(":");
  if (i <= 0 || i === key.length - 1) throw new Error(`not an actor key: ${JSON.stringify(key)}`);
  return { type: key.slice(0, i), id: key.slice(i + 1) };
}

/** Per-recipient record ids: `<messageId>.<seq>`, seq from 0 in RCPT order. */
export function recipientId(messageId: string, seq: number): string {
  if (!Number.isInteger(seq) || seq < 0) throw new Error(`invalid recipient seq ${seq}`);
  return `${messageId}.${seq}`;
}
