/**
 * Classification of a failed delivery attempt (D6, seed 003): `defer` → Deferred,
 * `soft` → Soft bounce, `hard` → Hard bounce. One pure function over the data in `rules.ts`.
 *
 * - A 4xx reply is always `defer`; only a 5xx reply can be `soft` or `hard`.
 * - Only causes about the address (unknown user or domain, disabled mailbox, domain not served)
 *   are `hard`, and only `hard` suppresses (D8). A policy, reputation or blocklist block is
 *   about the sender: `soft`, never suppressing.
 * - Nothing given at the greeting or at MAIL FROM is `hard`: the server has not seen the
 *   recipient yet.
 */
import type { StatusReason } from "../model/status.ts";
import { parseReply, type SmtpReply } from "./reply.ts";
import {
  type BounceKind,
  KINDS,
  type Phase,
  RULES,
  type Rule,
  SENDER_PHASES,
  TRANSPORT_OUTCOMES,
  type TransportOutcome,
} from "./rules.ts";

export type BounceResult = "defer" | "soft" | "hard";

export interface Classification {
  result: BounceResult;
  kind: BounceKind;
  reason: StatusReason;
  /** Id of the rule that matched (for logs and tests). */
  rule: string;
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

function outcome(kind: BounceKind, cls: 4 | 5, phase: Phase | undefined, rule: string): Classification {
  const k = KINDS[kind];
  let result: BounceResult = cls === 4 ? "defer" : k.permanent;
  if (result === "hard" && phase !== undefined && SENDER_PHASES.has(phase)) result = "soft";
  return { result, kind, reason: k.reason, rule };
}

/** Classifies a failure reply. The last rule matches everything, so this is total. */
export function classify(input: ClassifyInput): Classification {
  const cls = replyClass(input);
  const subject = { ...input, text: input.text.replace(ADDRESS, "") };
  const rule = RULES.find((r) => matches(r, subject, cls));
  return outcome(rule?.kind ?? "other", cls, input.phase, rule?.id ?? "other");
}

/** Classifies a raw reply as the SMTP client reports it (`550-5.1.1 ...\n550 5.1.1 ...`). */
export function classifyReply(raw: string, phase?: Phase): Classification {
  const reply = parseReply(raw);
  return classify(phase === undefined ? reply : { ...reply, phase });
}

/** DNS and connection failures (no SMTP reply): NXDOMAIN is hard, SERVFAIL a deferral. */
export function classifyTransport(o: TransportOutcome): Classification {
  const t = TRANSPORT_OUTCOMES[o];
  return outcome(t.kind, t.class, undefined, `transport:${o}`);
}

/**
 * The retry period is over (D6) or the remote MTA gave up (a DSN with `Action: failed` and a
 * 4.x.x status): a deferral becomes a soft bounce with the same cause; bounces stay as they are.
 */
export function expire(c: Classification): Classification {
  return c.result === "defer" ? { ...c, result: "soft" } : c;
}

/** Only a hard bounce adds the address to the suppression list (D8). */
export function isSuppressible(c: Pick<Classification, "result">): boolean {
  return c.result === "hard";
}
