/**
 * A temporary reply (4xx) whose text names the recipient is a deferral whose reason is not taken
 * from the text's address words (D6). (An enhanced code that says so — 4.1.1 — still names the
 * cause, as the shared corpus labels it.)
 */
import { describe, expect, it } from "vitest";
import { classifyReply } from "../../shared/bounce/classify.ts";

describe("temporary replies that name the recipient", () => {
  it.each([
    "450 4.2.0 <busy@rcpt.test>: Recipient address rejected: Mailbox busy",
    "451 4.3.0 <x@example.org>: Recipient address rejected: Temporary lookup failure",
  ])("%s → Deferred, not an address reason", (reply) => {
    const c = classifyReply(reply, "RCPT");
    expect(c.result).toBe("defer");
    expect(["unknown_user", "unknown_domain", "mailbox_disabled", "relay_denied", "null_mx"]).not.toContain(
      c.reason,
    );
  });
});
