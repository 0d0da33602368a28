/**
 * Non-standard bounce bodies as data (D7): MTAs that send no `message/delivery-status` part
 * write the failed recipients and the remote reply in plain text. Each format recognises its
 * text and yields one match per failed recipient. Patterns run over the decoded text that
 * mailparser gives, cut before the returned copy of the original message.
 * Tested against `../shared/bounce-corpus/dsn/` (tests/bounce/dsn.test.ts).
 */

export const TEXT_FORMATS = ["exim", "gmail_legacy", "qmail", "domino", "postfix_text"] as const;
export type TextFormat = (typeof TEXT_FORMATS)[number];
export type BounceFormat = "rfc3464" | TextFormat | "x_failed_recipients";

export interface TextFormatRule {
  name: TextFormat;
  /** Recognises the format anywhere in the text. */
  detect: RegExp;
  /** Global: one match per failed recipient, named groups `rcpt` and `block`. */
  recipient: RegExp;
  /** Group 1: the remote reply within the block; without it the block is the diagnostic. */
  diagnostic?: RegExp;
  /** Group 1: the remote MTA within the block. */
  remoteMta?: RegExp;
}

export const TEXT_FORMAT_RULES: readonly TextFormatRule[] = [
  {
    // "A message that you sent could not be delivered ... The following address(es) failed:"
    name: "exim",
    detect: /could not be delivered to one or more of its\s+recipients|following address\(es\) failed/i,
    recipient: /^ {2}(?<rcpt>[^\s@<>]+@[^\s<>]+)\n(?<block>(?: {3,}\S.*(?:\n|$))+)/gm,
    diagnostic: /(?:^\s*|\]: |: )([45]\d\d[ -].*)$/m,
    remoteMta: /\bhost (\S+) \[/,
  },
  {
    // Gmail before RFC 3464: "Delivery to the following recipient failed permanently:"
    name: "gmail_legacy",
    detect: /Delivery to the following recipients? failed permanently/i,
    recipient:
      /failed permanently:\s*\n\s*(?<rcpt>[^\s@<>]+@[^\s<>]+)\s*\n(?<block>[\s\S]*?)(?=\n-{3,}|$(?![\s\S]))/g,
    diagnostic: /The error that the other server returned was:\s*\n(.+)/,
    remoteMta: /\bby (\S+?)\.? \[[\d.:a-f]+\]/i,
  },
  {
    // qmail-send ("Hi. This is the qmail-send program"), also Yahoo's "Sorry, we were unable
    // to deliver your message": "<rcpt>:" then the block up to a blank line.
    name: "qmail",
    detect: /This is the qmail-send program|we were unable to deliver your message to the following address/i,
    recipient: /^<(?<rcpt>[^\s@<>]+@[^\s<>]+)>:\n(?<block>(?:.+(?:\n|$))+)/gm,
    diagnostic: /Remote host said: (.+)/,
    remoteMta: /(?:Giving up on|Connected to) ([\w.:-]+?)\.?(?:\s|$)|^([\w.:-]+) does not like/m,
  },
  {
    // Lotus Domino: "was not delivered to: <rcpt> because: <reason>"
    name: "domino",
    detect: /was not delivered to:/i,
    recipient:
      /was not delivered to:\s*\n\s*(?<rcpt>[^\s@<>]+@[^\s<>]+)\s*\n\s*because:\s*\n\s*(?<block>.+)/g,
  },
  {
    // Postfix notification text (when the report part is missing):
    // "<rcpt>: host mx[ip] said: 550 ... (in reply to RCPT TO command)"
    name: "postfix_text",
    detect: /This is the mail system at host/i,
    recipient: /^<(?<rcpt>[^\s@<>]+@[^\s<>]+)>: (?<block>.+(?:\n[ \t]+.+)*)/gm,
    diagnostic: /said: ([\s\S]+?)(?:\s*\(in reply to [^)]*\))?\s*$/,
    remoteMta: /^host ([^\s[]+)\[/,
  },
];

/** Where the returned copy of the original message starts in a text bounce. */
export const ORIGINAL_MARKERS: readonly RegExp[] = [
  /^-+ ?Below this line is a copy of the message\.?[ \t]*$/m,
  /^-+ ?This is a copy of the message, including all the headers\.? ?-*[ \t]*$/m,
  /^-+ ?Original message ?-+[ \t]*$/m,
  /^-+ ?The header of the original message is following\.? ?-*[ \t]*$/m,
  /^Original message headers:[ \t]*$/m,
];

/** Signals of an auto-reply (RFC 3834 and common practice): not a bounce. */
export const AUTO_REPLY_HEADERS: readonly [name: string, value: RegExp][] = [
  ["auto-submitted", /^auto-replied/i],
  ["x-autoreply", /./],
  ["x-autorespond", /./],
  ["precedence", /^auto_reply/i],
];
export const AUTO_REPLY_SUBJECT =
  /^\s*(automatic reply|auto(matic)?[ -]?(reply|response)|out of (the )?office|away until|vacation|abwesenheit|r[ée]ponse automatique)\b/i;
