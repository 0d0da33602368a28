/** A temporary reply (4xx) is a deferral whose reason is never about the address (D6). */
import { describe, expect, it } from "vitest";
import { classifyReply } from "../../shared/bounce/classify.ts";

describe("temporary replies that name the recipient", () => {
  it.each([
    "450 4.2.0 <busy@rcpt.test>: Recipient address rejected: Mailbox busy",
    "450 4.1.1 <bob@example.com>: Recipient address rejected: unverified address: host mx.example.com said: 550 5.1.1 User unknown",
    "451 4.3.0 <x@example.org>: Recipient address rejected: Temporary lookup failure",
  ])("%s → Deferred, not an address reason", (reply) => {
    const c = classifyReply(reply, "RCPT");
    expect(c.result).toBe("defer");
    expect(["unknown_user", "unknown_domain", "mailbox_disabled", "relay_denied", "null_mx"]).not.toContain(
      c.reason,
    );
  });
});
