/**
 * VERP Return-Path (D4): `b-<base32(recipientId)>-<mac>@<returnPathHost>`, so that a bounce
 * maps back to exactly one recipient (`<messageId>.<seq>`, actors/keys.ts) and a forged bounce
 * (an address we did not issue) is rejected. Base32 (RFC 4648, lower case, no padding) because
 * local parts may be case-folded on the way back; `mac` is the first 40 bits of
 * HMAC-SHA256(key, `<recipientId>@<host>`), also base32. Pure functions; the key is passed in
 * (a list when keys rotate: encode with the first, accept any).
 *
 * A message delivered to several recipients of one domain in one SMTP transaction has one
 * Return-Path for them all: the message form `m-<base32(messageId)>-<mac>@<returnPathHost>`, the
 * mac over `m:<messageId>@<host>` (so neither form's mac verifies the other). A bounce to it names
 * the message; the report's Final-Recipient / Original-Recipient picks the recipient among the
 * message's (the domain actor keeps who was delivered, actors/domain/behavior.ts).
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

export type VerpKey = string | Uint8Array;

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const PREFIX = "b-";
const MESSAGE_PREFIX = "m-";
/** RFC 5321 §4.5.3.1.1: a local part is at most 64 octets. */
export const MAX_LOCAL_PART = 64;

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(s: string): Uint8Array | null {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of s) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  // Canonical form only: leftover bits must be zero padding shorter than a byte.
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) return null;
  return Uint8Array.from(out);
}

function mac(key: VerpKey, recipientId: string, host: string): string {
  const h = createHmac("sha256", key).update(`${recipientId}@${host.toLowerCase()}`).digest();
  return base32(h.subarray(0, 5));
}

/** The mac of a message Return-Path: `m:` keeps it apart from any recipient id's. */
const messageMac = (key: VerpKey, messageId: string, host: string) => mac(key, `m:${messageId}`, host);

function firstKey(key: VerpKey | readonly VerpKey[]): VerpKey {
  const k = Array.isArray(key) ? key[0] : key;
  if (k === undefined) throw new Error("no VERP key");
  return k as VerpKey;
}

function checkedLocal(local: string, id: string): string {
  if (local.length > MAX_LOCAL_PART) {
    throw new RangeError(`VERP local part of ${local.length} octets for id ${JSON.stringify(id)}`);
  }
  return local;
}

/** The Return-Path for one recipient. Throws when the local part would exceed 64 octets. */
export function encodeVerp(
  recipientId: string,
  returnPathHost: string,
  key: VerpKey | readonly VerpKey[],
): string {
  const k = firstKey(key);
  if (recipientId.length === 0) throw new Error("empty recipient id");
  const local = `${PREFIX}${base32(new TextEncoder().encode(recipientId))}-${mac(k, recipientId, returnPathHost)}`;
  return `${checkedLocal(local, recipientId)}@${returnPathHost.toLowerCase()}`;
}

/** The Return-Path of one message sent to several recipients in one transaction. */
export function encodeMessageVerp(
  messageId: string,
  returnPathHost: string,
  key: VerpKey | readonly VerpKey[],
): string {
  const k = firstKey(key);
  if (messageId.length === 0) throw new Error("empty message id");
  const local = `${MESSAGE_PREFIX}${base32(new TextEncoder().encode(messageId))}-${messageMac(k, messageId, returnPathHost)}`;
  return `${checkedLocal(local, messageId)}@${returnPathHost.toLowerCase()}`;
}

export type VerpDecoded =
  | { ok: true; recipientId: string; messageId: string; seq: number; host: string }
  | { ok: false; why: "not_verp" | "bad_encoding" | "bad_signature" | "unknown_host" };

const SHAPE = /^b-([a-z2-7]+)-([a-z2-7]{8})@([^@\s]+)$/;

/**
 * Decodes and verifies a Return-Path (angle brackets allowed, any case). `hosts`, when given
 * (lower case), are the only return-path hosts accepted.
 */
export function decodeVerp(
  address: string,
  key: VerpKey | readonly VerpKey[],
  hosts?: ReadonlySet<string>,
): VerpDecoded {
  const m = SHAPE.exec(address.trim().replace(/^<|>$/g, "").toLowerCase());
  if (!m) return { ok: false, why: "not_verp" };
  const [, body, tag, host] = m as unknown as [string, string, string, string];
  if (hosts !== undefined && !hosts.has(host)) return { ok: false, why: "unknown_host" };
  const bytes = unbase32(body);
  if (bytes === null) return { ok: false, why: "bad_encoding" };
  let recipientId: string;
  try {
    recipientId = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, why: "bad_encoding" };
  }
  const keys: readonly VerpKey[] = Array.isArray(key) ? key : [key as VerpKey];
  const given = Buffer.from(tag);
  const genuine = keys.some((k) => timingSafeEqual(Buffer.from(mac(k, recipientId, host)), given));
  if (!genuine) return { ok: false, why: "bad_signature" };
  const dot = recipientId.lastIndexOf(".");
  const seq = Number(recipientId.slice(dot + 1));
  if (dot <= 0 || !/^\d+$/.test(recipientId.slice(dot + 1)) || !Number.isSafeInteger(seq)) {
    return { ok: false, why: "bad_encoding" };
  }
  return { ok: true, recipientId, messageId: recipientId.slice(0, dot), seq, host };
}

/** The first of several candidate addresses (a bounce's envelope, headers) that verifies. */
export function findVerp(
  candidates: readonly string[],
  key: VerpKey | readonly VerpKey[],
  hosts?: ReadonlySet<string>,
): Extract<VerpDecoded, { ok: true }> | null {
  for (const c of candidates) {
    const d = decodeVerp(c, key, hosts);
    if (d.ok) return d;
  }
  return null;
}

export type ReturnPathDecoded =
  | ({ kind: "recipient" } & Extract<VerpDecoded, { ok: true }>)
  | { ok: true; kind: "message"; messageId: string; host: string }
  | Extract<VerpDecoded, { ok: false }>;

const MESSAGE_SHAPE = /^m-([a-z2-7]+)-([a-z2-7]{8})@([^@\s]+)$/;

/** Decodes and verifies either form of Return-Path: one recipient's, or one message's. */
export function decodeReturnPath(
  address: string,
  key: VerpKey | readonly VerpKey[],
  hosts?: ReadonlySet<string>,
): ReturnPathDecoded {
  const m = MESSAGE_SHAPE.exec(address.trim().replace(/^<|>$/g, "").toLowerCase());
  if (!m) {
    const r = decodeVerp(address, key, hosts);
    return r.ok ? { kind: "recipient", ...r } : r;
  }
  const [, body, tag, host] = m as unknown as [string, string, string, string];
  if (hosts !== undefined && !hosts.has(host)) return { ok: false, why: "unknown_host" };
  const bytes = unbase32(body);
  if (bytes === null) return { ok: false, why: "bad_encoding" };
  let messageId: string;
  try {
    messageId = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, why: "bad_encoding" };
  }
  const keys: readonly VerpKey[] = Array.isArray(key) ? key : [key as VerpKey];
  const given = Buffer.from(tag);
  if (!keys.some((k) => timingSafeEqual(Buffer.from(messageMac(k, messageId, host)), given)))
    return { ok: false, why: "bad_signature" };
  return { ok: true, kind: "message", messageId, host };
}
