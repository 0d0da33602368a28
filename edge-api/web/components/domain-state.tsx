/** @jsxImportSource hono/jsx */
/**
 * C4: a sending domain's state and each of its three CNAME records' check, in words (never colour
 * only), one reading for the list, the domain page and the page after "Verify now":
 *  - the domain: Verified (all three records found), Verified by the operator (trusted without
 *    DNS: its records are "Not checked" until someone checks them, never "Pending"), Pending
 *    (never verified yet), Failed (was verified, a record has gone);
 *  - a record: Verified, Failed (missing or wrong), No answer (DNS could not be asked: nothing
 *    changed), Pending / Not checked (no check yet); with the expected value, what DNS answered,
 *    the error and when it was checked, all visible (not only on hover).
 */
import type { DomainRecord, SendingDomain } from "../types.ts";

export const RECORD_LABELS: Record<DomainRecord["kind"], string> = {
  dkim1: "DKIM 1",
  dkim2: "DKIM 2",
  return_path: "Return-Path (MX and SPF)",
};

export type RecordWord = "Verified" | "Pending" | "Not checked" | "Failed" | "No answer";

/** The tone of a word, the same everywhere (app.css `.tone-*`): good, waiting, bad, neutral. */
export type Tone = "good" | "wait" | "bad" | "neutral";

const RECORD_TONES: Record<RecordWord, Tone> = {
  Verified: "good",
  Pending: "wait",
  "Not checked": "neutral",
  Failed: "bad",
  "No answer": "wait",
};

export interface RecordCheck {
  word: RecordWord;
  tone: Tone;
  /** What DNS answered, as far as it answered. */
  answer: string;
  /** What is wrong and what to do, or "" when nothing is. */
  error: string;
  /** When it was checked (ms), if it was. */
  checkedAt?: number;
}

/** One record's last check, in words. `trusted`: the operator's trust stands in for the check. */
export function recordCheck(r: DomainRecord, trusted = false): RecordCheck {
  const at = r.checkedAt !== undefined ? { checkedAt: r.checkedAt } : {};
  const make = (word: RecordWord, answer: string, error: string): RecordCheck => ({
    word,
    tone: RECORD_TONES[word],
    answer,
    error,
    ...at,
  });
  switch (r.status) {
    case "verified":
      return make("Verified", r.detail ?? `CNAME ${r.value}`, "");
    case "missing":
      return make(
        "Failed",
        r.detail ?? "no such record",
        `${r.name} was not found: create it at your DNS provider with the expected value, then verify again.`,
      );
    case "wrong":
      return make(
        "Failed",
        r.detail ?? "a CNAME to another name",
        "The record points elsewhere: change its value to the expected one, then verify again.",
      );
    case "pending":
      if (r.checkedAt !== undefined)
        return make(
          "No answer",
          "no answer",
          `${(r.detail ?? "DNS could not be asked").replace(/^not checked: /, "")}. Nothing was recorded; try again in a moment.`,
        );
      return trusted ? make("Not checked", "not checked yet", "") : make("Pending", "not checked yet", "");
  }
}

const DOMAIN_WORDS: Record<SendingDomain["status"], string> = {
  pending: "Pending",
  verified: "Verified",
  failed: "Failed",
};
const DOMAIN_TONES: Record<SendingDomain["status"], Tone> = {
  pending: "wait",
  verified: "good",
  failed: "bad",
};

const DOMAIN_HINTS: Record<SendingDomain["status"], string> = {
  pending:
    "Create the three CNAME records below at your DNS provider, then press Verify now. DNS changes can take a while to be visible.",
  verified: "Mail from this domain is signed and accepted for sending.",
  failed:
    "At least one record is missing or wrong: mail from this domain is refused until the records are fixed and verified again.",
};

/** How many records are verified, in the words of the list and the page ("2 of 3 verified"). */
export function recordsLine(d: SendingDomain): string {
  const verified = d.records.filter((r) => r.status === "verified").length;
  const checked = d.records.some((r) => r.checkedAt !== undefined);
  if (d.trusted && !checked) return "not checked (trusted by the operator)";
  return `${verified} of ${d.records.length} verified`;
}

/** What to do next, in words: the state's hint, or how many records still fail. */
export function domainHint(d: SendingDomain): string {
  if (d.trusted) {
    const failing = d.records.filter((r) => r.status === "missing" || r.status === "wrong").length;
    const dns =
      failing > 0
        ? `${failing === 1 ? "1 record is" : `${failing} records are`} missing or wrong in DNS (see below): fix them so receiving servers can check your DKIM signature.`
        : "Create the records below anyway, so receiving servers can check your DKIM signature, then press Verify now.";
    return `The operator marked this domain verified without a DNS check: mail from it is signed and accepted. ${dns}`;
  }
  const failing = d.records.filter((r) => r.status === "missing" || r.status === "wrong").length;
  if (d.status !== "pending" || failing === 0) return DOMAIN_HINTS[d.status];
  const n = failing === 1 ? "1 record is" : `${failing} records are`;
  return `Not verified yet: ${n} missing or wrong (see below). Mail from this domain is refused until all three records are verified; fix them at your DNS provider, then press Verify now.`;
}

export function DomainState({ d }: { d: SendingDomain }) {
  const word = d.trusted && d.status === "verified" ? "Verified by the operator" : DOMAIN_WORDS[d.status];
  return (
    <span class={`status tone-${DOMAIN_TONES[d.status]}`} data-state={d.status} data-trusted={d.trusted}>
      {word}
    </span>
  );
}

export function RecordState({ check }: { check: RecordCheck }) {
  return (
    <span class={`status tone-${check.tone}`} data-word={check.word}>
      {check.word}
    </span>
  );
}
