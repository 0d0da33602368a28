// DKIM signing on a worker thread (actors/delivery/dkim.ts, DkimPool): mailauth's dkimSign on
// the options the main thread prepared, without its stream where the message allows
// (dkim-direct.js). Plain JavaScript on purpose: a worker thread loads it without a TypeScript
// loader, under Node, vitest and Deno alike.
import crypto from "node:crypto";
import { install } from "./dkim-canon.js";
import { sign as signDirect } from "./dkim-direct.js";

// The body hash's per-byte loops replaced by native scans where the result is the same (dkim-canon.js).
const fastCanon = install();

// mailauth takes the key as PEM only and parses it for every message (crypto.createPrivateKey:
// ~0.75 ms of OpenSSL decoding for RSA-2048, almost as much as the signature itself). This
// thread only signs, so here, and only here, parsed keys are kept: same PEM, same immutable
// KeyObject. A bounded map (a sending domain has two keys). The signatures are byte for byte
// the ones mailauth makes on its own (tests/delivery/dkim-pool.test.ts).
const parse = crypto.createPrivateKey;
const parsed = new Map();
let parses = 0;
crypto.createPrivateKey = (options) => {
  const pem =
    options && options.format === "pem" && Buffer.isBuffer(options.key) ? options.key.toString() : undefined;
  if (pem === undefined) return parse(options);
  let key = parsed.get(pem);
  if (!key) {
    key = parse(options);
    parses++;
    if (parsed.size >= 1000) parsed.delete(parsed.keys().next().value);
    parsed.set(pem, key);
  }
  return key;
};

async function signOne({ message, options }) {
  const result = await signDirect(
    Buffer.from(message.buffer, message.byteOffset, message.byteLength),
    options,
  );
  return {
    signatures: result.signatures,
    errors: result.errors.map((e) => (e?.err instanceof Error ? e.err.message : JSON.stringify(e))),
    /** Keys this thread has parsed so far (a test checks the cache holds). */
    parses,
    /** Whether the body hash runs on dkim-canon.js's fast paths (a test checks it does). */
    fastCanon,
    /** Whether dkim-direct.js skipped mailauth's stream (a test checks it does). */
    direct: result.direct,
  };
}

// One message ({ message, options }) or several in one task ({ batch: [...] }: DkimPool sends
// the signatures asked for in one event-loop turn together); one answer per message, in order.
export default async function sign(task) {
  if (!Array.isArray(task.batch)) return signOne(task);
  const out = [];
  for (const one of task.batch) {
    try {
      out.push(await signOne(one));
    } catch (e) {
      // One message's failure is its own: the others of the task are signed.
      out.push({ signatures: "", errors: [e instanceof Error ? e.message : String(e)], parses, fastCanon });
    }
  }
  return out;
}
