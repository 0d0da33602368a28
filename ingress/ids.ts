/**
 * Message ids: ULID-like, 26 characters of Crockford base32 (48-bit millisecond time, 80 random
 * bits), sortable by acceptance time and short enough for VERP (shared/bounce/verp.ts allows 33
 * bytes for a recipient id `<messageId>.<seq>`; seq ≤ 49 adds at most 3).
 */
import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export function newMessageId(now: number = Date.now()): string {
  let time = "";
  let t = Math.max(0, Math.floor(now));
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = random10();
  let rand = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return time + rand;
}

/** 10 random bytes from a pool refilled 4 KiB at a time (one randomBytes call per message cost ~20 µs). */
let pool = Buffer.alloc(0);
let poolAt = 0;
function random10(): Buffer {
  if (poolAt + 10 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  poolAt += 10;
  return pool.subarray(poolAt - 10, poolAt);
}
