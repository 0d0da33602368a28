/** Fuzzing MIME intake (issue 17, point 2): targets/mime.ts in its short mode, and what it found. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { intake } from "../../ingress/intake.ts";
import { LocalContentStore } from "../../shared/content/local.ts";
import { shortRun } from "./short.ts";
import { mime } from "./targets/mime.ts";

describe("found by the MIME fuzzer", () => {
  it.each([
    [
      "a part whose headers run into the next boundary (mailsplit drops it)",
      'From: a@shop.example\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n' +
        "--zz\r\nContent-Type: text/plain\r\nhello\r\n--zz\r\nContent-Type: text/plain\r\n\r\nbody2\r\n--zz--\r\n",
    ],
    [
      "an .exe after an empty nested multipart (mailsplit never sees it, so neither did the attachment policy)",
      'From: a@shop.example\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n' +
        '--a\r\nContent-Type: multipart/mixed; boundary="="\r\n\r\n' +
        '--=\r\nContent-Type: multipart/mixed; boundary="same"\r\n\r\n--same--\r\n\r\n--=--\r\n\r\n' +
        '--a\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="_.exe"\r\n\r\n\r\n--a--\r\n',
    ],
  ])("%s: refused 554 5.6.0, nothing stored", async (_what, m) => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-mime-found-"));
    const store = await LocalContentStore.open(dir);
    try {
      const r = intake(Readable.from([Buffer.from(m)]), {
        store,
        messageId: "m1",
        hostname: "relay.test",
        now: 0,
        maxBytes: 1 << 20,
        maxHeaderBytes: 1 << 16,
        checkHeaderFrom: () => undefined,
      });
      await expect(r).rejects.toMatchObject({ code: 554, enhanced: "5.6.0" });
      expect(await store.storedBytes()).toBe(0);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("MIME intake (property)", () => shortRun(mime, 2045));
