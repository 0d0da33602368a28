/**
 * Fuzzing the bounce intake (issue 17, point 2): the DSN parser and the VERP decoder in their short
 * mode, and what the long runs found as fixed cases.
 */
import { describe, expect, it } from "vitest";
import { parseBounce } from "../../shared/bounce/dsn.ts";
import { shortRun } from "./short.ts";
import { dsn } from "./targets/dsn.ts";
import { verp } from "./targets/verp.ts";

describe("found by the DSN fuzzer", () => {
  it("a report cut after a bare 'Content-Type:' line is no bounce, not a TypeError", async () => {
    const m =
      "From: MAILER-DAEMON@mx.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n' +
      "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type:";
    expect(await parseBounce(m)).toEqual({ type: "none", why: "not_a_bounce" });
  });
});

describe("DSN parser (property)", () => shortRun(dsn, 3464));
describe("VERP decoder (property)", () => shortRun(verp, 5321));
