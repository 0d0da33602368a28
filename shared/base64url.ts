/**
 * base64url (RFC 4648 §5, no padding) with Web-standard APIs only (btoa/atob, no Buffer, no
 * node:), so the edge API can load it: cursors, session ids, the HMAC key of secrets.json.
 */

export function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** base64url (or base64, padded or not) → bytes; throws on anything else. */
export function fromBase64Url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
