/** Envelope addresses as the model keeps them. */

/**
 * The domain of `local@domain`: what follows the last `@`, lower-cased; `""` when there is no `@`.
 * Not a validation (ingress/policy.ts `parseMailbox` is): it names the recipient domain of an
 * event or a record, and the domain actor (`domain:<recipient-domain>`, actors/keys.ts).
 */
export function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  return at >= 0 ? address.slice(at + 1).toLowerCase() : "";
}
