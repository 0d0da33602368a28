/**
 * An SMTP reply as the classifier reads it: the reply code, the enhanced status code
 * (RFC 3463) and the text with the lines of a multi-line reply joined (RFC 5321 §4.2.1).
 * The text is kept verbatim otherwise: it becomes the event's remote reply (D9).
 */

export interface SmtpReply {
  /** Basic reply code (e.g. 550); absent when only text is known (some legacy bounce bodies). */
  code?: number;
  /** Enhanced status code `class.subject.detail` (e.g. `5.1.1`), wherever the server put it. */
  enhanced?: string;
  /** The reply text, lines joined with a space, code prefixes removed. */
  text: string;
}

const LINE_PREFIX = /^([2-5]\d\d)(?:[ -]|$)/;
/**
 * An enhanced code at the start of the text or after `#`/`(`/space — also written as
 * `#5.1.1` (IronPort, qmail) or mid-text (`550 cuda_nsu 5.1.1 ...`). The class digit must be
 * 2, 4 or 5 and the code must stand alone, so IP addresses (`192.0.2.22`, `4.16.55.1`) and
 * `(554.30)` never match.
 */
const ENHANCED = /(?:^|[\s#(])([245])\.(\d{1,3})\.(\d{1,3})(?=$|[\s),;:\]])/;

/** Parses a raw reply (`\n` or `\r\n` between lines, as nodemailer reports it). */
export function parseReply(raw: string): SmtpReply {
  const lines = raw.replace(/\r?\n$/, "").split(/\r?\n/);
  let code: number | undefined;
  const texts: string[] = [];
  for (const line of lines) {
    const m = LINE_PREFIX.exec(line);
    if (m) {
      code ??= Number(m[1]);
      texts.push(line.slice(m[0].length));
    } else {
      texts.push(line);
    }
  }
  const first = texts[0] ?? "";
  const e = ENHANCED.exec(first) ?? ENHANCED.exec(texts.join(" "));
  const enhanced = e ? `${e[1]}.${Number(e[2])}.${Number(e[3])}` : undefined;
  // Drop the enhanced code that every line of a multi-line reply repeats.
  const body = texts.map((t) => (enhanced && t.startsWith(`${enhanced}`) ? t.slice(enhanced.length) : t));
  const text = body
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .join(" ");
  const out: SmtpReply = { text };
  if (code !== undefined) out.code = code;
  if (enhanced !== undefined) out.enhanced = enhanced;
  return out;
}

/** Enhanced code found anywhere in a text (a DSN Status or Diagnostic-Code, a bounce body). */
export function findEnhanced(text: string): string | undefined {
  const e = ENHANCED.exec(text);
  return e ? `${e[1]}.${Number(e[2])}.${Number(e[3])}` : undefined;
}
