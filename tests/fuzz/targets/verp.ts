/**
 * The VERP decoder (shared/bounce/verp.ts) on random input: any string — VERP-shaped or not, with
 * angle brackets, odd case, non-ASCII, long — decodes without throwing, and verifies only when it is
 * an address we issued (a random or altered one never yields a recipient id other than the issued one).
 */
import fc from "fast-check";
import { decodeVerp, encodeVerp, findVerp } from "../../../shared/bounce/verp.ts";
import type { FuzzTarget } from "../target.ts";

const KEY = "fuzz-verp-key";
const HOST = "bounces.fuzz.example";

const base32 = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz234567"), maxLength: 60 });
const issued = fc
  .tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.nat(9999))
  .map(([m, seq]) => `${m}.${seq}`)
  .filter((rid) => {
    try {
      encodeVerp(rid, HOST, KEY);
      return true;
    } catch {
      return false;
    }
  });

const address = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: "binary", maxLength: 120 }),
  fc
    .tuple(
      base32,
      fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz234567"), minLength: 8, maxLength: 8 }),
      fc.domain(),
    )
    .map(([body, tag, host]) => `b-${body}-${tag}@${host}`),
  // An issued address with one character replaced, inserted or removed, in any case, maybe bracketed.
  fc
    .tuple(issued, fc.nat(), fc.string({ maxLength: 2 }), fc.nat(2), fc.boolean())
    .map(([rid, at, s, del, upper]) => {
      const a = encodeVerp(rid, HOST, KEY);
      const i = at % (a.length + 1);
      const out = `${a.slice(0, i)}${s}${a.slice(i + del)}`;
      return upper ? `<${out.toUpperCase()}>` : out;
    }),
);

export const verp: FuzzTarget = {
  name: "verp",
  shortRuns: 2000,
  caseTimeoutMs: 5_000,
  async open() {
    return {
      property: fc.property(address, issued, (a, rid) => {
        const d = decodeVerp(a, KEY, new Set([HOST]));
        if (d.ok) {
          // Only an issued address verifies, and it says which recipient it was issued for.
          if (encodeVerp(d.recipientId, d.host, KEY) !== a.trim().replace(/^<|>$/g, "").toLowerCase())
            throw new Error(
              `${JSON.stringify(a)} verified as ${d.recipientId} but is not what we issue for it`,
            );
        } else if (!["not_verp", "bad_encoding", "bad_signature", "unknown_host"].includes(d.why)) {
          throw new Error(`unknown refusal ${JSON.stringify(d)}`);
        }
        const found = findVerp([a, encodeVerp(rid, HOST, KEY)], [KEY, "old-key"], new Set([HOST]));
        if (!found) throw new Error(`the issued address of ${rid} was not found after ${JSON.stringify(a)}`);
      }),
      close: async () => undefined,
    };
  },
};
