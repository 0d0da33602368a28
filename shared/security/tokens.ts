/**
 * Random secrets and keyed hashes. Every secret comes from the CSPRNG (node:crypto randomBytes)
 * in alphabets without bias (32 and 64 symbols divide 256):
 *  - SMTP usernames (S2, C3): `ptl_` + 16 base32 characters, generated, never chosen;
 *  - SMTP and member passwords: 32 characters, a letter or digit then 31 base64url (191 bits):
 *    never a leading `-`, which command-line tools (swaks `--auth-password -x…`) read as an option;
 *  - API keys (C5): `pk_<id>_<secret>`, id 12 base32 characters (stored in the clear, finds the
 *    key), secret 32 base64url characters; only a keyed hash of the whole key is stored;
 *  - the AUTH cache key (S2): a keyed hash of username, password and the user's generation, so a
 *    reset (new generation) misses the cache at once.
 * Keyed hashes are HMAC-SHA256 under the server key (shared/security/secrets.ts), compared in
 * constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function randomString(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

export const randomBase32 = (length: number) => randomString(BASE32, length);

export const SMTP_USERNAME_PREFIX = "ptl_";

export function generateSmtpUsername(): string {
  return SMTP_USERNAME_PREFIX + randomBase32(16);
}

export function generatePassword(): string {
  return randomString(BASE32, 1) + randomString(BASE64URL, 31);
}

/** Account ids: `acc_` + 16 base32 characters. */
export function generateAccountId(): string {
  return `acc_${randomBase32(16)}`;
}

export interface GeneratedApiKey {
  id: string;
  /** The whole key, shown once: `pk_<id>_<secret>`. */
  key: string;
}

export function generateApiKey(): GeneratedApiKey {
  const id = randomBase32(12);
  return { id, key: `pk_${id}_${randomString(BASE64URL, 32)}` };
}

/** The id of a well-formed API key, undefined otherwise. */
export function apiKeyId(key: string): string | undefined {
  const m = /^pk_([a-z2-7]{12})_[A-Za-z0-9_-]{32}$/.exec(typeof key === "string" ? key : "");
  return m?.[1];
}

/** HMAC-SHA256 of `value` under `key`, hex. */
export function keyedHash(key: Uint8Array, value: string): string {
  return createHmac("sha256", key).update(value, "utf8").digest("hex");
}

/** Constant-time equality of two hex digests (false when lengths differ). */
export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** S2: the in-memory AUTH cache key of a successful check. */
export function authCacheKey(
  key: Uint8Array,
  username: string,
  password: string,
  generation: number,
): string {
  return keyedHash(key, `smtp-auth\0${username}\0${password}\0${generation}`);
}
