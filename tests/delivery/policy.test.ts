/**
 * Delivery policy as pure functions against literal tables (STYLE): the backoff schedule (D6),
 * the retry period, MX ordering (D1), the SMTP phase of a failure, sandbox outcomes (S14).
 */
import { describe, expect, it } from "vitest";
import { phaseOf } from "../../actors/delivery/attempt.ts";
import { orderMx } from "../../actors/delivery/mx.ts";
import { sandboxCase, simulate } from "../../actors/delivery/sandbox.ts";
import { DEFAULT_BACKOFF, delayForAttempt, isExpired, jitterUnit } from "../../actors/domain/backoff.ts";
import type { AttemptRequest } from "../../actors/domain/protocol.ts";

const MIN = 60_000;

describe("delayForAttempt (D6)", () => {
  // base 60 s, doubling, capped at 4 h; u = 0.5 is the centre of the jitter band
  const table: [number, number][] = [
    [1, 1 * MIN],
    [2, 2 * MIN],
    [3, 4 * MIN],
    [4, 8 * MIN],
    [5, 16 * MIN],
    [6, 32 * MIN],
    [7, 64 * MIN],
    [8, 128 * MIN],
    [9, 240 * MIN],
    [10, 240 * MIN],
    [50, 240 * MIN],
  ];
  it.each(table)("attempt %i waits %i ms", (n, ms) => {
    expect(delayForAttempt(n, DEFAULT_BACKOFF, 0.5)).toBe(ms);
  });

  const jitter: [number, number, number][] = [
    [1, 0, 48_000],
    [1, 0.25, 54_000],
    [1, 0.75, 66_000],
    [3, 0, 192_000],
    [9, 0.999999, 17_279_994],
  ];
  it.each(jitter)("attempt %i with u=%f waits %i ms (jitter ±20 percent)", (n, u, ms) => {
    expect(delayForAttempt(n, DEFAULT_BACKOFF, u)).toBe(ms);
  });

  it("jitter is deterministic per recipient and attempt, and spreads", () => {
    expect(jitterUnit("m1.0", 1)).toBe(jitterUnit("m1.0", 1));
    expect(jitterUnit("m1.0", 1)).not.toBe(jitterUnit("m1.0", 2));
    const us = Array.from({ length: 50 }, (_, i) => jitterUnit(`m${i}.0`, 1));
    expect(Math.min(...us)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...us)).toBeLessThan(1);
    expect(new Set(us).size).toBe(50);
  });

  const expiry: [number, number, number, boolean][] = [
    [0, 72 * 3_600_000, 72 * 3_600_000, false],
    [0, 72 * 3_600_000 + 1, 72 * 3_600_000, true],
    [1_000, 10 * MIN, 30 * MIN, false],
    [0, 31 * MIN, 30 * MIN, true],
  ];
  it.each(expiry)("accepted %i, next %i, max %i → expired %s", (a, next, max, want) => {
    expect(isExpired(a, next, max)).toBe(want);
  });
});

describe("MX order (RFC 5321 §5.1)", () => {
  it("sorts by preference, lower-cases and strips the root dot", () => {
    const r = orderMx(
      [
        { exchange: "B.example.", priority: 20 },
        { exchange: "a.example", priority: 10 },
        { exchange: "c.example", priority: 30 },
      ],
      () => 0.5,
    );
    expect(r.map((h) => h.exchange)).toEqual(["a.example", "b.example", "c.example"]);
  });
  it("shuffles equal preferences with the injected random source", () => {
    const recs = [
      { exchange: "x", priority: 10 },
      { exchange: "y", priority: 10 },
    ];
    const seq = [0.9, 0.1];
    expect(orderMx(recs, () => seq.shift() as number).map((h) => h.exchange)).toEqual(["y", "x"]);
  });
});

describe("phase of a failed command", () => {
  const table: [string | undefined, string][] = [
    ["RCPT TO", "RCPT"],
    ["MAIL FROM", "MAIL"],
    ["DATA", "DATA"],
    [undefined, "CONNECT"],
    ["CONN", "CONNECT"],
  ];
  it.each(table)("%s → %s", (cmd, phase) => expect(phaseOf(cmd)).toBe(phase));
});

describe("sandbox recipients (S14)", () => {
  const req = (to: string, attempt = 1): AttemptRequest => ({
    domain: "sandbox.petrel.test",
    attempt,
    lease: `r.0#${attempt}`,
    concurrency: 1,
    record: {
      recipientId: "r.0",
      messageId: "r",
      accountId: "a",
      smtpUser: "u",
      sender: "s@x.test",
      recipient: to,
      recipientDomain: "sandbox.petrel.test",
      sendingDomain: "x.test",
      subject: "",
      contentRef: "c",
      size: 1,
      smtputf8: false,
      eightBit: false,
      isTest: true,
      acceptedAt: 0,
    },
  });
  const table: [string, number, string, boolean][] = [
    ["delivered@sandbox.petrel.test", 1, "delivered", false],
    ["anything@sandbox.petrel.test", 1, "delivered", false],
    ["deferred@sandbox.petrel.test", 1, "defer", false],
    ["deferred@sandbox.petrel.test", 2, "delivered", false],
    ["softbounce+x@sandbox.petrel.test", 1, "soft", false],
    ["HardBounce@sandbox.petrel.test", 1, "hard", false],
    ["delayedbounce@sandbox.petrel.test", 1, "delivered", true],
  ];
  it.each(table)("%s attempt %i → %s (later bounce: %s)", (to, attempt, result, later) => {
    const s = simulate(req(to, attempt));
    expect(s.outcome.result).toBe(result);
    expect(s.later !== undefined).toBe(later);
  });
  it("picks the case from the local part before +tag", () => {
    expect(sandboxCase("hardbounce+abc@sandbox.petrel.test")).toBe("hardbounce");
  });
});
