/** Fuzzing the SMTP session over real sockets (issue 17, point 2): targets/smtp.ts in its short mode, and what it found. */
import { afterAll, describe, expect, it } from "vitest";
import { RawClient, startRelay } from "../ingress/harness.ts";
import { shortRun } from "./short.ts";
import { smtp } from "./targets/smtp.ts";

describe("found by the SMTP fuzzer", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const f of cleanups.reverse()) await f();
  });

  it("refusals of HELO/EHLO carry an enhanced status (smtp-server's '501 Error: syntax: EHLO hostname' had none)", async () => {
    const relay = await startRelay(cleanups);
    const c = await RawClient.connect(relay.ingress.ports.submission);
    try {
      await c.reply();
      expect(await c.cmd("EHLO")).toMatch(/^501 5\.5\.4 /);
      expect(await c.cmd("HELO")).toMatch(/^501 5\.5\.4 /);
    } finally {
      c.close();
    }
  });
});

describe("SMTP session (property)", () => shortRun(smtp, 587));
