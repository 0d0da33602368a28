/**
 * Sandbox recipients (S14): addresses at the reserved sandbox domain follow the same state
 * machine as real ones, with outcomes simulated from the local part and no network. The local
 * part (before any `+tag`) picks the outcome; anything else is delivered.
 *
 * | local part      | outcome                                             |
 * | --------------- | --------------------------------------------------- |
 * | `delivered`     | Delivered                                           |
 * | `deferred`      | Deferred on the 1st attempt, Delivered on the 2nd   |
 * | `softbounce`    | Soft bounce (mailbox full)                          |
 * | `hardbounce`    | Hard bounce (unknown user; never suppressed: tests) |
 * | `delayedbounce` | Delivered, then a delayed hard bounce (D7)          |
 */
import { classifyReply, decisionOf } from "../../shared/bounce/classify.ts";
import type { AttemptRequest, DelayedBounce, Outcome } from "../domain/protocol.ts";

export const SANDBOX_MX = "sandbox.petrel";

export const SANDBOX_REPLIES = {
  delivered: "250 2.0.0 Ok: simulated delivery (sandbox)",
  deferred: "451 4.3.0 Simulated temporary failure (sandbox)",
  softbounce: "552 5.2.2 Mailbox full (simulated, sandbox)",
  hardbounce: "550 5.1.1 User unknown (simulated, sandbox)",
  delayedbounce: "550 5.1.1 User unknown (simulated delayed bounce, sandbox)",
} as const;

/** The classifier's decision on a simulated reply, as a real one would carry (issue 15). */
const decided = (reply: string) => decisionOf(classifyReply(reply, "RCPT"));

export function sandboxCase(recipient: string): keyof typeof SANDBOX_REPLIES {
  const local = (recipient.split("@")[0] ?? "").split("+")[0]?.toLowerCase() ?? "";
  return local in SANDBOX_REPLIES ? (local as keyof typeof SANDBOX_REPLIES) : "delivered";
}

export function simulate(req: AttemptRequest): { outcome: Outcome; later?: DelayedBounce } {
  const r = req.record;
  const base = { recipientId: r.recipientId, lease: req.lease, mxHost: SANDBOX_MX };
  const kind = sandboxCase(r.recipient);
  switch (kind) {
    case "deferred":
      if (req.attempt === 1)
        return {
          outcome: {
            ...base,
            result: "defer",
            reason: "remote_temporary",
            remoteReply: SANDBOX_REPLIES.deferred,
            decision: decided(SANDBOX_REPLIES.deferred),
          },
        };
      return {
        outcome: { ...base, result: "delivered", reason: "none", remoteReply: SANDBOX_REPLIES.delivered },
      };
    case "softbounce":
      return {
        outcome: {
          ...base,
          result: "soft",
          reason: "mailbox_full",
          remoteReply: SANDBOX_REPLIES.softbounce,
          decision: decided(SANDBOX_REPLIES.softbounce),
        },
      };
    case "hardbounce":
      return {
        outcome: {
          ...base,
          result: "hard",
          reason: "unknown_user",
          remoteReply: SANDBOX_REPLIES.hardbounce,
          decision: decided(SANDBOX_REPLIES.hardbounce),
        },
      };
    case "delayedbounce":
      return {
        outcome: { ...base, result: "delivered", reason: "none", remoteReply: SANDBOX_REPLIES.delivered },
        later: {
          recipientId: r.recipientId,
          result: "hard",
          reason: "unknown_user",
          remoteReply: SANDBOX_REPLIES.delayedbounce,
          mxHost: SANDBOX_MX,
          decision: decided(SANDBOX_REPLIES.delayedbounce),
        },
      };
    default:
      return {
        outcome: { ...base, result: "delivered", reason: "none", remoteReply: SANDBOX_REPLIES.delivered },
      };
  }
}
