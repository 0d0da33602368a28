/**
 * TXT record data: one DNS character-string holds at most 255 bytes (RFC 1035 3.3), so a longer
 * value (an RSA-2048 DKIM key is ~400) is published as several strings that the reader joins
 * (RFC 6376 3.6.2.2, RFC 7208 3.3).
 */

export const TXT_STRING_MAX = 255;

/** Splits `value` into strings of at most `max` bytes. Printable ASCII only (DKIM and SPF are). */
export function splitTxt(value: string, max = TXT_STRING_MAX): string[] {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new Error("TXT value must be printable ASCII");
  if (!Number.isInteger(max) || max < 1 || max > TXT_STRING_MAX)
    throw new Error(`invalid TXT string size ${max}`);
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += max) parts.push(value.slice(i, i + max));
  return parts.length ? parts : [""];
}

/** One master-file character-string: quoted, with `"` and `\` escaped (RFC 1035 5.1). */
export function quoteTxt(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** The RDATA of a TXT record in a master file: its strings, quoted, space-separated. */
export function txtRdata(value: string): string {
  return splitTxt(value).map(quoteTxt).join(" ");
}
