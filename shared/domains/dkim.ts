/**
 * DKIM key pairs (D3): RSA-2048 by default, Ed25519 (RFC 8463) as an option, made with
 * node:crypto, and the TXT record value a verifier reads at `<selector>._domainkey.<domain>`
 * (RFC 6376 3.6.1) — published in the provider zone behind the customer's CNAME.
 *
 * `DkimKey.publicKey` holds the base64 SubjectPublicKeyInfo DER for both algorithms. For RSA
 * that is the `p=` value as every signer publishes it; for Ed25519, RFC 8463 4.2 wants the raw
 * 32-byte key in `p=`, so `dkimTxtValue` extracts it.
 */
import { createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import type { DkimKey } from "../model/account/protocol.ts";
import { assertLabel } from "./records.ts";
import { splitTxt } from "./txt.ts";

export type DkimAlgorithm = DkimKey["algorithm"];
export const DKIM_ALGORITHMS = ["rsa-sha256", "ed25519-sha256"] as const satisfies readonly DkimAlgorithm[];
export const RSA_BITS = 2048;

const generate = promisify(generateKeyPair);

/** A new key pair for `selector`: private key as PKCS#8 PEM, public key as base64 SPKI DER. */
export async function generateDkimKey(
  selector: string,
  algorithm: DkimAlgorithm = "rsa-sha256",
): Promise<DkimKey> {
  assertLabel("DKIM selector", selector);
  const pair: { publicKey: KeyObject; privateKey: KeyObject } =
    algorithm === "rsa-sha256"
      ? await generate("rsa", { modulusLength: RSA_BITS, publicExponent: 0x10001 })
      : await generate("ed25519");
  return {
    selector,
    algorithm,
    publicKey: pair.publicKey.export({ format: "der", type: "spki" }).toString("base64"),
    privateKeyPem: pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  };
}

/** The `p=` tag: SPKI for RSA, the raw 32-byte key for Ed25519 (RFC 8463 4.2). */
export function dkimPublicTag(key: Pick<DkimKey, "algorithm" | "publicKey">): string {
  if (key.algorithm === "rsa-sha256") return key.publicKey;
  const spki = createPublicKey({ key: Buffer.from(key.publicKey, "base64"), format: "der", type: "spki" });
  const jwk = spki.export({ format: "jwk" });
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || !jwk.x) throw new Error("DKIM key is not an Ed25519 key");
  return Buffer.from(jwk.x, "base64url").toString("base64");
}

/** The DKIM key record's value: `v=DKIM1; k=rsa; p=...` (or `k=ed25519`). */
export function dkimTxtValue(key: Pick<DkimKey, "algorithm" | "publicKey">): string {
  const k = key.algorithm === "rsa-sha256" ? "rsa" : "ed25519";
  return `v=DKIM1; k=${k}; p=${dkimPublicTag(key)}`;
}

/** The value as the ≤255-byte strings of one TXT record. */
export function dkimTxtStrings(key: Pick<DkimKey, "algorithm" | "publicKey">): string[] {
  return splitTxt(dkimTxtValue(key));
}
