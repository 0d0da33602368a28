/**
 * Classification of a failed delivery attempt (D6, seed 003, issue 15): `defer` → Deferred,
 * `soft` → Soft bounce, `hard` → Hard bounce. One pure function over the tables in `rules.ts`,
 * `text-rules.ts` and `text-rules-i18n.ts`.
 *
 * A mistake costs unequally: a hard bounce suppresses the address for good, a soft bounce costs
 * one message. So a hard bounce needs positive evidence about the address or its domain, and
 * any sign that the refusal is about the sender wins. The evidence is weighed in this order —
 * the first step that finds something decides:
 *
 *   0. Class: a 4xx reply is always `defer`; a 5xx (or a report with no code, or 5.x.x only)
 *      can be `soft` or `hard`. The steps below then only name the cause.
 *   1. Sender evidence in the text, or a sender code (x.1.7/x.1.8): blocklist, reputation,
 *      authentication (SPF/DKIM/DMARC/PTR), rate limit, greylisting, TLS, the recipient's
 *      policy or preferences, content/spam. Soft, whatever the enhanced code says: "550 5.1.1
 *      ... too many recipients this hour" is a rate limit, "Relaying denied - your IP
 *      identified as spammer" a blocklist.
 *   2. Mailbox or message evidence in the text: full, too large, temporary DNS. Soft.
 *   3. Address evidence in the text: disabled account, unknown domain, unknown user, the MX does
 *      not serve the domain. Hard. A weak phrase (RFC 5321's generic "mailbox unavailable",
 *      "recipient rejected") counts only when the enhanced code is not a security/policy code
 *      (x.7.x): with one, it falls to step 4 and is a policy block.
 *   4. The enhanced code alone (RFC 3463): x.1.1/x.1.2/x.1.10/x.2.1 hard, x.2.2 full, x.7.x
 *      policy, and so on. The basic code alone (550, 551, 553, 501...) is never evidence.
 *   5. Nothing known: a refused greeting is a block; otherwise "other", soft.
 *
 * Independently of the steps, nothing given at the greeting or at MAIL FROM is `hard`: the
 * server has not seen the recipient yet.
 */
import type { BounceDecision } from "../model/event.ts";
import type { StatusReason } from "../model/status.ts";
import { parseReply, type SmtpReply } from "./reply.ts";
import {
  type BounceKind,
  CLASS_LABELS,
  CODE_RULES,
  EVIDENCE_RULES,
  FALLBACK_RULES,
  KINDS,
  type Phase,
  type ReasonClass,
  type Rule,
  SENDER_PHASES,
  type Side,
  TRANSPORT_OUTCOMES,
  type TransportOutcome,
} from "./rules.ts";

export type BounceResult = "defer" | "soft" | "hard";

export interface Classification {
  result: BounceResult;
  kind: BounceKind;
  reason: StatusReason;
  /** The closed reason class an operator sees and lifts suppressions by. */
  class: ReasonClass;
  /** Id of the rule that decided (for logs, tests and bulk lifting). */
  rule: string;
  /** What that rule saw, in a few words. */
  says: string;
}

export interface ClassifyInput extends SmtpReply {
  phase?: Phase;
}

/**
 * The reply class: from the basic code, else from the enhanced code, else 5 — a report that
 * says a delivery failed and gives no code at all (e.g. Lotus Domino) is a permanent failure.
 */
function replyClass(input: ClassifyInput): 4 | 5 {
  const digit = input.code !== undefined ? Math.floor(input.code / 100) : Number(input.enhanced?.[0] ?? 5);
  // Anything that is not a clean 4xx (a 2xx/3xx where a failure was expected included) is
  // handled as permanent only when it says 5; otherwise retry, the safe side.
  return digit === 5 ? 5 : 4;
}

/** Addresses in a reply name the recipient, not the cause: they are not matched against. */
const ADDRESS = /[^\s<>()[\]]+@[^\s<>()[\]]+/g;

function matches(rule: Rule, input: ClassifyInput, cls: 4 | 5): boolean {
  if (rule.class !== undefined && rule.class !== cls) return false;
  if (rule.phase !== undefined && (input.phase === undefined || !rule.phase.includes(input.phase)))
    return false;
  if (rule.enhanced !== undefined && (input.enhanced === undefined || !rule.enhanced.test(input.enhanced)))
    return false;
  if (rule.text !== undefined && !rule.text.test(input.text)) return false;
  return true;
}

/** Rules that read the text (or the sender codes that stand with them), by side, in table order. */
const TEXT_STEPS: readonly Side[] = ["sender", "mailbox", "address"];
const BY_SIDE: ReadonlyMap<Side, readonly Rule[]> = new Map(
  TEXT_STEPS.map((side) => [side, EVIDENCE_RULES.filter((r) => KINDS[r.kind].side === side)]),
);
const POLICY_CODE = /^\d\.7\.\d+$/;

/** Steps 1–5 of the decision order above: the rule that names the cause. */
function decide(input: ClassifyInput, cls: 4 | 5): Rule {
  for (const side of TEXT_STEPS) {
    // A temporary reply is never evidence about the address: the address cannot be "unknown for
    // now" — a 4xx naming the recipient is a temporary condition of the mailbox or the server.
    if (side === "address" && cls === 4) continue;
    const rule = BY_SIDE.get(side)?.find(
      (r) =>
        matches(r, input, cls) &&
        !(r.weak && input.enhanced !== undefined && POLICY_CODE.test(input.enhanced)),
    );
    if (rule) return rule;
  }
  const rule =
    CODE_RULES.find((r) => matches(r, input, cls)) ?? FALLBACK_RULES.find((r) => matches(r, input, cls));
  // The last fallback matches everything, so this is total.
  return rule ?? (FALLBACK_RULES.at(-1) as Rule);
}

function outcome(
  kind: BounceKind,
  cls: 4 | 5,
  phase: Phase | undefined,
  rule: string,
  says: string,
): Classification {
  const k = KINDS[kind];
  let result: BounceResult = cls === 4 ? "defer" : k.permanent;
  if (result === "hard" && phase !== undefined && SENDER_PHASES.has(phase)) result = "soft";
  return { result, kind, reason: k.reason, class: k.class, rule, says };
}

/** Classifies a failure reply. Total: every reply gets a result and a rule. */
export function classify(input: ClassifyInput): Classification {
  const cls = replyClass(input);
  const subject = { ...input, text: input.text.replace(ADDRESS, "") };
  const rule = decide(subject, cls);
  return outcome(rule.kind, cls, input.phase, rule.id, rule.says);
}

/** Classifies a raw reply as the SMTP client reports it (`550-5.1.1 ...\n550 5.1.1 ...`). */
export function classifyReply(raw: string, phase?: Phase): Classification {
  const reply = parseReply(raw);
  return classify(phase === undefined ? reply : { ...reply, phase });
}

/** DNS and connection failures (no SMTP reply): NXDOMAIN is hard, SERVFAIL a deferral. */
export function classifyTransport(o: TransportOutcome): Classification {
  const t = TRANSPORT_OUTCOMES[o];
  return outcome(t.kind, t.class, undefined, `transport:${o}`, t.says);
}

/**
 * The retry period is over (D6) or the remote MTA gave up (a DSN with `Action: failed` and a
 * 4.x.x status): a deferral becomes a soft bounce with the same cause; bounces stay as they are.
 */
export function expire(c: Classification): Classification {
  return c.result === "defer" ? { ...c, result: "soft" } : c;
}

/** What travels on the status event and the suppression entry: the class and the rule that decided. */
export function decisionOf(c: Pick<Classification, "class" | "rule" | "says">): BounceDecision {
  return { class: c.class, rule: c.rule, says: c.says };
}

/** Only a hard bounce adds the address to the suppression list (D8). */
export function isSuppressible(c: Pick<Classification, "result">): boolean {
  return c.result === "hard";
}

const RESULT_WORDS: Readonly<Record<BounceResult, string>> = {
  defer: "Deferred",
  soft: "Soft bounce",
  hard: "Hard bounce",
};

/**
 * The decision in words, as Activity shows it: the status, the class, and what the deciding
 * rule saw — "Soft bounce — blocklisted (the sending IP or domain is on a blocklist)".
 */
export function explain(c: Pick<Classification, "result" | "class" | "says">): string {
  return `${RESULT_WORDS[c.result]} — ${CLASS_LABELS[c.class]} (${c.says})`;
}
