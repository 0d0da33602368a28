/**
 * Envelope policy as named pure functions (STYLE: policy tested against literal tables). Each
 * returns a verdict or throws nothing; the session code turns refusals into SmtpError replies
 * (errors.ts) and `Rejected` events with the reason (shared/model/status.ts).
 */
import { domainOf } from "../shared/model/address.ts";
import type { StatusReason } from "../shared/model/status.ts";
import { Replies, type SmtpError } from "./errors.ts";

export interface Mailbox {
  local: string;
  /** Lower-cased. */
  domain: string;
  address: string;
}

const ASCII_LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const UTF8_LOCAL = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const LABEL = /^(?!-)[\p{L}\p{N}-]{1,63}(?<!-)$/u;

/**
 * S9/S13: parses an envelope address. `null` when malformed (501 5.1.3); `"utf8"` when it needs
 * SMTPUTF8 that the client did not declare (553 5.6.7).
 */
export function parseMailbox(address: string, smtputf8: boolean): Mailbox | null | "utf8" {
  if (address.length === 0 || address.length > 254) return null;
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return null;
  const local = address.slice(0, at);
  const domain = domainOf(address);
  if (local.length > 64) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  const ascii = /^[\x00-\x7f]*$/.test(address);
  if (!ascii && !smtputf8) return "utf8";
  if (!(ascii ? ASCII_LOCAL : UTF8_LOCAL).test(local)) return null;
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return null;
  if (ascii && !/^[a-z0-9.-]+$/.test(domain)) return null;
  return { local, domain, address: `${local}@${domain}` };
}

/** A refusal: the reply and the Activity reason. */
export interface Refusal {
  error: SmtpError;
  reason: StatusReason;
}

export function addressRefusal(v: null | "utf8", what: "sender" | "recipient"): Refusal {
  return v === "utf8"
    ? { error: Replies.utf8WithoutSmtputf8(), reason: "invalid_address" }
    : { error: Replies.badAddress(what), reason: "invalid_address" };
}

/** S7: the account may send from `domain` only when it is one of its verified domains. */
export function senderVerdict(
  account: { sendingAllowed: boolean; verifiedDomains: string[] } | undefined,
  domain: string,
): Refusal | null {
  if (!account?.sendingAllowed) return { error: Replies.sendingNotAllowed(), reason: "plan_inactive" };
  if (!account.verifiedDomains.includes(domain.toLowerCase()))
    return { error: Replies.senderNotAuthenticated(domain), reason: "sender_domain_not_authenticated" };
  return null;
}

/** S5: the (n+1)th recipient of a message is refused when n already reached the limit. */
export function recipientCountVerdict(accepted: number, max: number): Refusal | null {
  return accepted >= max ? { error: Replies.tooManyRecipients(), reason: "too_many_recipients" } : null;
}

/** S6: `MAIL FROM ... SIZE=n` above the limit. */
export function declaredSizeVerdict(declared: number | undefined, max: number): SmtpError | null {
  return declared !== undefined && declared > max ? Replies.tooLarge() : null;
}

/** Issue 17: new messages are refused while a volume is below its free-space floor. */
export function storageVerdict(storage: { readonly ok: boolean } | undefined): Refusal | null {
  return storage && !storage.ok
    ? { error: Replies.insufficientStorage(), reason: "insufficient_storage" }
    : null;
}

/** The Activity reason of a message refused at the end of DATA (S6, S10, S7 header From, low disk). */
export function dataRefusalReason(e: SmtpError): StatusReason {
  if (e.code === 452 && e.enhanced === "4.3.1") return "insufficient_storage";
  if (e.code === 552) return "message_too_large";
  if (e.code === 554 && e.text.startsWith("Attachment")) return "attachment_not_allowed";
  if (e.code === 550 && e.text.startsWith("Sending is not enabled")) return "plan_inactive";
  return "sender_domain_not_authenticated";
}

/** S14: a recipient at the sandbox domain (or a subdomain) is a test recipient. */
export function isSandbox(domain: string, sandboxDomain: string): boolean {
  const d = domain.toLowerCase();
  const s = sandboxDomain.toLowerCase();
  return d === s || d.endsWith(`.${s}`);
}

/** The domain of a header From value (`"Name" <a@b.c>` or `a@b.c`), lower-cased; null if none. */
export function headerFromDomain(value: string): string | null {
  const angle = /<([^<>]*)>/.exec(value);
  const addr = (angle?.[1] ?? value).trim();
  const at = addr.lastIndexOf("@");
  if (at <= 0) return null;
  const domain = addr
    .slice(at + 1)
    .trim()
    .replace(/[>;\s].*$/, "")
    .toLowerCase();
  return domain.length > 0 ? domain : null;
}

/**
 * S7: the domains of every address in the header From (every `From:` line, every address of a
 * list or group), lower-cased, without duplicates. `null` when there is no From header or a part
 * of it has no address: such a message is refused (docs/smtp-replies.md).
 */
export function headerFromDomains(values: string[]): string[] | null {
  const domains = new Set<string>();
  for (const value of values) {
    for (const part of splitAddressList(value)) {
      const d = headerFromDomain(part);
      if (d === null) return null;
      domains.add(d);
    }
  }
  return domains.size > 0 ? [...domains] : null;
}

/** The non-empty top-level parts of an address list: commas inside quotes, <>, () do not split. */
export function splitAddressList(value: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quoted = false;
  let angle = 0;
  let comment = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === "\\" && (quoted || comment > 0)) {
      cur += ch + (value[i + 1] ?? "");
      i++;
      continue;
    }
    if (quoted) {
      if (ch === '"') quoted = false;
      cur += ch;
      continue;
    }
    if (ch === '"' && comment === 0) quoted = true;
    else if (ch === "(") comment++;
    else if (ch === ")" && comment > 0) comment--;
    else if (ch === "<" && comment === 0) angle++;
    else if (ch === ">" && comment === 0 && angle > 0) angle--;
    else if (comment === 0 && angle === 0 && (ch === "," || ch === ":" || ch === ";")) {
      // `,` separates addresses; `Group: a, b;` — the group's name and its end carry none
      if (ch !== ":" && cur.trim().length > 0) parts.push(cur.trim());
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim().length > 0) parts.push(cur.trim());
  return parts;
}
