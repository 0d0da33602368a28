/**
 * The body of a `message/delivery-status` part (RFC 3464 §2.1): groups of header-style fields
 * separated by blank lines — first the per-message fields, then one group per recipient.
 * mailparser hands the part over decoded but unparsed; this is the small rest.
 */

/** Field names lower-cased; folded lines unfolded; the first occurrence of a name kept. */
export type FieldGroup = ReadonlyMap<string, string>;

export interface DeliveryStatus {
  message: FieldGroup;
  recipients: FieldGroup[];
}

function parseGroup(lines: string[]): Map<string, string> {
  const fields = new Map<string, string>();
  let name: string | undefined;
  for (const line of lines) {
    if (/^[ \t]/.test(line) && name !== undefined) {
      fields.set(name, `${fields.get(name)} ${line.trim()}`.trim());
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    name = fields.has(key) ? undefined : key;
    if (name !== undefined) fields.set(name, line.slice(colon + 1).trim());
  }
  return fields;
}

export function parseDeliveryStatus(body: string): DeliveryStatus {
  const groups: string[][] = [];
  let current: string[] = [];
  for (const line of body.split(/\r?\n/)) {
    if (line.trim() === "") {
      if (current.length > 0) groups.push(current);
      current = [];
    } else {
      current.push(line);
    }
  }
  if (current.length > 0) groups.push(current);
  const [first, ...rest] = groups.map(parseGroup);
  return { message: first ?? new Map(), recipients: rest };
}

/** `rfc822; <a@b>` → `a@b`; `dns; mx.example.com. (comment)` → `mx.example.com`. */
export function typedValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.replace(/^[\w-]+\s*;\s*/, "").trim();
  const first = v.split(/\s+/)[0] ?? "";
  const out = first.replace(/^<|>$/g, "").replace(/\.$/, "");
  return out.length > 0 ? out : undefined;
}

/** `smtp; 550-5.1.1 ...` → `550-5.1.1 ...` (the reply, with its type removed). */
export function diagnosticText(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.replace(/^[\w-]+\s*;\s*/, "").trim();
  return v.length > 0 ? v : undefined;
}
