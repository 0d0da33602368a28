/** @jsxImportSource hono/jsx */
/**
 * C4: a sending domain's state and each of its three CNAME records' verification state, in words
 * (never colour only): Verified, Pending (no verdict yet) or Failed, the DNS answer on hover and on
 * keyboard focus (`.status`/`.tip`). Used by the Domains pages.
 */
import type { DomainRecord, SendingDomain } from "../types.ts";

export const RECORD_LABELS: Record<DomainRecord["kind"], string> = {
  dkim1: "DKIM 1",
  dkim2: "DKIM 2",
  return_path: "Return-Path (MX and SPF)",
};

/** A record's state in words (never colour only): verified, pending (no verdict yet), failed. */
export function recordState(r: DomainRecord): { word: "Verified" | "Pending" | "Failed"; why: string } {
  switch (r.status) {
    case "verified":
      return { word: "Verified", why: r.detail ?? `${r.name} points to ${r.value}` };
    case "pending":
      return {
        word: "Pending",
        why: r.detail ?? "Not checked yet: create the record, then press Verify now.",
      };
    case "missing":
      return { word: "Failed", why: r.detail ?? `${r.name} was not found in DNS` };
    case "wrong":
      return { word: "Failed", why: r.detail ?? `${r.name} does not point to ${r.value}` };
  }
}

const DOMAIN_WORDS: Record<SendingDomain["status"], string> = {
  pending: "Pending",
  verified: "Verified",
  failed: "Failed",
};

const DOMAIN_HINTS: Record<SendingDomain["status"], string> = {
  pending:
    "Create the three CNAME records below at your DNS provider, then press Verify now. DNS changes can take a while to be visible.",
  verified: "Mail from this domain is signed and accepted for sending.",
  failed:
    "At least one record is missing or wrong: mail from this domain is refused until the records are fixed and verified again.",
};

/** What to do next, in words: the state's hint, or how many records still fail. */
export function domainHint(d: SendingDomain): string {
  const failing = d.records.filter((r) => r.status === "missing" || r.status === "wrong").length;
  if (d.status !== "pending" || failing === 0) return DOMAIN_HINTS[d.status];
  const n = failing === 1 ? "1 record is" : `${failing} records are`;
  return `Not verified yet: ${n} missing or wrong (see below). Mail from this domain is refused until all three records are verified; fix them at your DNS provider, then press Verify now.`;
}

export function DomainState({ d }: { d: SendingDomain }) {
  return (
    <span class={`status domain-${d.status}`} data-state={d.status}>
      {DOMAIN_WORDS[d.status]}
      {d.trusted ? " (trusted by the operator)" : ""}
    </span>
  );
}

export function RecordState({ r }: { r: DomainRecord }) {
  const s = recordState(r);
  const tip = `why-${r.kind}`;
  return (
    <span
      class={`status record-${s.word.toLowerCase()}`}
      data-state={r.status}
      tabindex={0}
      aria-describedby={tip}
    >
      {s.word}
      <span class="tip" role="tooltip" id={tip}>
        {s.why}
      </span>
    </span>
  );
}
