/**
 * DKIM signing (D3) with mailauth: relaxed/relaxed, the sending domain's active selector and
 * its key (RSA-2048 or ed25519), the signature prepended to the message.
 */
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import type { SendingDomain } from "../../actors/account/protocol.ts";

export const SIGNED_HEADERS = [
  "From",
  "Sender",
  "Reply-To",
  "Subject",
  "Date",
  "Message-ID",
  "To",
  "Cc",
  "MIME-Version",
  "Content-Type",
  "Content-Transfer-Encoding",
  "In-Reply-To",
  "References",
  "List-Unsubscribe",
  "List-Unsubscribe-Post",
];

export class DkimSignError extends Error {
  override readonly name = "DkimSignError";
}

export async function signMessage(message: Buffer, domain: SendingDomain, now: Date): Promise<Buffer> {
  const key = domain.dkim.find((k) => k.selector === domain.activeSelector);
  if (!key) throw new DkimSignError(`no DKIM key for the active selector of ${domain.domain}`);
  // mailauth signs only what is in `signatureData` (its typings describe top-level fields too).
  const options = {
    canonicalization: "relaxed/relaxed",
    algorithm: key.algorithm,
    signTime: now,
    headerList: SIGNED_HEADERS,
    signatureData: [
      {
        signingDomain: domain.domain,
        selector: key.selector,
        privateKey: key.privateKeyPem,
        algorithm: key.algorithm,
      },
    ],
  };
  const result = await dkimSign(message, options as unknown as Parameters<typeof dkimSign>[1]);
  if (result.errors.length > 0)
    throw new DkimSignError(`DKIM signing failed: ${JSON.stringify(result.errors)}`);
  if (!result.signatures.startsWith("DKIM-Signature:"))
    throw new DkimSignError("DKIM signing produced no signature");
  return Buffer.concat([Buffer.from(result.signatures), message]);
}
