/**
 * Delayed bounces (D7): a non-delivery report that arrives after the recipient's server had
 * accepted the message. mailparser does the MIME work; this file picks the failed recipients
 * from an RFC 3464 `message/delivery-status` part, or from a non-standard body (`formats.ts`),
 * classifies each (`classify.ts`), and returns the headers of the returned original and every
 * address that may be our VERP Return-Path (`verp.ts` tells which one is genuine).
 */
import type { Buffer } from "node:buffer";
import type { Readable } from "node:stream";
import { type ParsedMail, simpleParser } from "mailparser";
import { type Classification, classify, expire } from "./classify.ts";
import { diagnosticText, type FieldGroup, parseDeliveryStatus, typedValue } from "./dsn-fields.ts";
import {
  AUTO_REPLY_HEADERS,
  AUTO_REPLY_SUBJECT,
  type BounceFormat,
  ORIGINAL_MARKERS,
  TEXT_FORMAT_RULES,
  type TextFormatRule,
} from "./formats.ts";
import { findEnhanced, parseReply } from "./reply.ts";

export interface FailedRecipient {
  recipient: string;
  originalRecipient: string | null;
  /** RFC 3464 Action; `failed` for every recipient reported here. */
  action: "failed";
  /** Enhanced status code (`5.1.1`), when the report gives one. */
  status: string | null;
  /** The remote server's reply (or the reporting MTA's reason), verbatim but unfolded. */
  diagnostic: string | null;
  remoteMta: string | null;
  /** `soft` or `hard`: the reporting MTA has given up, so a 4.x.x status is a soft bounce. */
  classification: Classification;
}

export interface OriginalMessage {
  messageId: string | null;
  returnPath: string | null;
  from: string | null;
  to: string[];
  subject: string | null;
}

export type BounceReport =
  | {
      type: "bounce";
      format: BounceFormat;
      recipients: FailedRecipient[];
      original: OriginalMessage | null;
      /** Addresses that may be the VERP Return-Path, most reliable first (verify with verp.ts). */
      verpCandidates: string[];
    }
  | { type: "none"; why: "auto_reply" | "not_a_bounce" | "no_failed_recipient" };

const ADDRESS = /[^\s<>,;:"()[\]]+@[^\s<>,;:"()[\]]+/g;
const STATUS_PARTS = new Set(["message/delivery-status", "message/global-delivery-status"]);
const ORIGINAL_PARTS = new Set(["message/rfc822", "message/global", "text/rfc822-headers"]);
/** Headers of the bounce that carry its envelope recipient, i.e. our Return-Path. */
const ENVELOPE_HEADERS = ["x-original-to", "delivered-to", "envelope-to", "x-envelope-to"];

/**
 * A part's media type, lower case. mailparser leaves `contentType` undefined for some malformed
 * parts (a bare `Content-Type:` line; found by tests/fuzz/targets/dsn.ts), though its types say string.
 */
function typeOf(a: { contentType?: unknown }): string {
  return typeof a.contentType === "string" ? a.contentType.toLowerCase() : "";
}

function addresses(s: string | null | undefined): string[] {
  return (s ?? "").match(ADDRESS) ?? [];
}

function headerValues(mail: ParsedMail, name: string): string[] {
  return mail.headerLines
    .filter((h) => h.key === name)
    .map((h) => h.line.slice(h.line.indexOf(":") + 1).trim());
}

function unfold(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

function failed(
  recipient: string,
  fields: {
    originalRecipient?: string | undefined;
    status?: string | undefined;
    diagnostic?: string | undefined;
    remoteMta?: string | undefined;
    context?: string;
  },
): FailedRecipient {
  const reply = fields.diagnostic !== undefined ? parseReply(fields.diagnostic) : { text: "" };
  // The Status field wins unless it is only the generic x.0.0 and the reply says more.
  const specific = fields.status !== undefined && !/\.0\.0$/.test(fields.status);
  const enhanced = specific ? fields.status : (reply.enhanced ?? fields.status);
  const text = unfold([fields.context, reply.text].filter((t) => t).join(" "));
  const input = {
    text,
    ...(reply.code !== undefined && { code: reply.code }),
    ...(enhanced && { enhanced }),
  };
  return {
    recipient,
    originalRecipient: fields.originalRecipient ?? null,
    action: "failed",
    status: enhanced ?? null,
    diagnostic: fields.diagnostic !== undefined ? unfold(fields.diagnostic) : null,
    remoteMta: fields.remoteMta ?? null,
    classification: expire(classify(input)),
  };
}

function isFailed(group: FieldGroup): boolean {
  const action = group.get("action")?.toLowerCase();
  return action === undefined
    ? findEnhanced(group.get("status") ?? "")?.startsWith("5") === true
    : action === "failed";
}

function fromDeliveryStatus(body: string): { recipients: FailedRecipient[]; envelope: string[] } {
  const ds = parseDeliveryStatus(body);
  const recipients = ds.recipients.filter(isFailed).flatMap((g) => {
    const recipient = typedValue(g.get("final-recipient")) ?? typedValue(g.get("original-recipient"));
    if (recipient === undefined) return [];
    return [
      failed(recipient, {
        originalRecipient: typedValue(g.get("original-recipient")),
        status: findEnhanced(g.get("status") ?? ""),
        diagnostic: diagnosticText(g.get("diagnostic-code")),
        remoteMta: typedValue(g.get("remote-mta")),
      }),
    ];
  });
  return { recipients, envelope: addresses(ds.message.get("x-postfix-sender")) };
}

function fromText(text: string, rule: TextFormatRule): FailedRecipient[] {
  return [...text.matchAll(rule.recipient)].map((m) => {
    const block = m.groups?.block ?? "";
    const diagnostic = rule.diagnostic?.exec(block)?.[1] ?? block;
    const mta = rule.remoteMta?.exec(block);
    return failed(m.groups?.rcpt ?? "", {
      status: findEnhanced(diagnostic) ?? findEnhanced(block),
      diagnostic,
      remoteMta: mta?.slice(1).find((g) => g) ?? undefined,
      context: diagnostic === block ? "" : block.replace(diagnostic, ""),
    });
  });
}

function cutAtOriginal(text: string): { notice: string; original: string | null } {
  const hits = ORIGINAL_MARKERS.map((re) => re.exec(text)).filter((m) => m !== null);
  const first = hits.sort((a, b) => a.index - b.index)[0];
  if (!first) return { notice: text, original: null };
  return {
    notice: text.slice(0, first.index),
    original: text.slice(first.index + first[0].length).trimStart(),
  };
}

async function originalOf(source: Buffer | string | null): Promise<OriginalMessage | null> {
  if (source === null || source.length === 0) return null;
  const o = await simpleParser(source, { skipHtmlToText: true, skipTextLinks: true, skipImageLinks: true });
  if (o.headerLines.length === 0) return null;
  return {
    messageId: o.messageId ?? null,
    returnPath: addresses(headerValues(o, "return-path")[0])[0] ?? null,
    from: addresses(headerValues(o, "from")[0])[0] ?? null,
    to: headerValues(o, "to").flatMap(addresses),
    subject: o.subject ?? null,
  };
}

function isAutoReply(mail: ParsedMail): boolean {
  const byHeader = AUTO_REPLY_HEADERS.some(([name, re]) => headerValues(mail, name).some((v) => re.test(v)));
  return byHeader || AUTO_REPLY_SUBJECT.test(mail.subject ?? "");
}

/** Parses a report (a whole RFC 5322 message). Never throws on odd content; may on I/O. */
export async function parseBounce(input: Buffer | string | Readable): Promise<BounceReport> {
  const mail = await simpleParser(input, {
    keepDeliveryStatus: true,
    skipHtmlToText: true,
    skipTextLinks: true,
    skipImageLinks: true,
    skipTextToHtml: true,
  });
  const { notice, original: inlineOriginal } = cutAtOriginal(mail.text ?? "");

  let format: BounceFormat | undefined;
  let recipients: FailedRecipient[] = [];
  let reportedSender: string[] = [];
  const status = mail.attachments.find((a) => STATUS_PARTS.has(typeOf(a)));
  if (status) {
    const ds = fromDeliveryStatus(status.content.toString("utf8"));
    if (ds.recipients.length === 0) return { type: "none", why: "no_failed_recipient" };
    format = "rfc3464";
    recipients = ds.recipients;
    reportedSender = ds.envelope;
  } else {
    for (const rule of TEXT_FORMAT_RULES) {
      if (!rule.detect.test(notice)) continue;
      recipients = fromText(notice, rule).filter((r) => r.recipient.length > 0);
      if (recipients.length > 0) {
        format = rule.name;
        break;
      }
    }
    const xFailed = headerValues(mail, "x-failed-recipients").flatMap(addresses);
    if (format === undefined && xFailed.length > 0) {
      // Only the header is known: the first SMTP reply in the text is the diagnostic.
      const reply = /^\s*([45]\d\d[ -].+)$/m.exec(notice)?.[1];
      format = "x_failed_recipients";
      recipients = xFailed.map((r) => failed(r, { diagnostic: reply, status: findEnhanced(reply ?? "") }));
    }
  }
  if (format === undefined) return { type: "none", why: isAutoReply(mail) ? "auto_reply" : "not_a_bounce" };

  const attached = mail.attachments.find((a) => ORIGINAL_PARTS.has(typeOf(a)));
  const original = await originalOf(attached?.content ?? inlineOriginal);
  const verpCandidates = [
    ...ENVELOPE_HEADERS.flatMap((h) => headerValues(mail, h).flatMap(addresses)),
    ...reportedSender,
    ...(original?.returnPath ? [original.returnPath] : []),
    ...headerValues(mail, "to").flatMap(addresses),
  ];
  return { type: "bounce", format, recipients, original, verpCandidates: [...new Set(verpCandidates)] };
}
