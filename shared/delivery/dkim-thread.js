// DKIM signing on a worker thread (shared/delivery/dkim.ts, DkimPool): mailauth's dkimSign on
// the options the main thread prepared. Plain JavaScript on purpose: a worker thread loads it
// without a TypeScript loader, under Node, vitest and Deno alike.
import { dkimSign } from "mailauth/lib/dkim/sign.js";

export default async function sign({ message, options }) {
  const result = await dkimSign(Buffer.from(message.buffer, message.byteOffset, message.byteLength), options);
  return {
    signatures: result.signatures,
    errors: result.errors.map((e) => (e?.err instanceof Error ? e.err.message : JSON.stringify(e))),
  };
}
