/**
 * Tenant isolation under random input (issue 17, point 3): the property of targets/isolation.ts in its
 * short mode, and the forged activity cursors the black-box run found (an integer beyond 2^53 answered
 * 500 with the ClickHouse client's own text) as fixed cases.
 */
import { describe, expect, it } from "vitest";
import { toBase64Url } from "../../shared/base64url.ts";
import { call } from "../api/harness.ts";
import { shortRun } from "./short.ts";
import { isolation } from "./targets/isolation.ts";
import { openWorld } from "./world.ts";

describe("forged activity cursors", () => {
  const b64 = (s: string) => toBase64Url(new TextEncoder().encode(s));
  it.each([
    '[1e+300,"x"]',
    '[9007199254740993,"x"]',
    '[-1e+300,"x",1]',
    '[12345678901234567890,"x",0]',
    '[1.5,"x"]',
    '[0,"x",2]',
    '{"at":1,"key":"x"}',
  ])("%s is 400 invalid_request naming cursor, on both views and on the admin route", async (json) => {
    const w = await openWorld();
    for (const [path, headers] of [
      ["/v1/activity?view=events&cursor=", w.a.key],
      ["/v1/activity?view=recipients&cursor=", w.a.key],
      [`/v1/admin/accounts/${w.a.id}/activity?cursor=`, w.operator],
    ] as const) {
      const r = await call(w.stack.app, "get", `${path}${b64(json)}`, { headers });
      expect({ status: r.status, code: r.body?.code, field: r.body?.field }).toEqual({
        status: 400,
        code: "invalid_request",
        field: "cursor",
      });
    }
  });

  it("a cursor of one view is refused by the other, naming cursor", async () => {
    const w = await openWorld();
    const [recipientsCursor, eventsCursor] = w.a.cursors;
    for (const url of [
      `/v1/activity?view=events&cursor=${recipientsCursor}`,
      `/v1/activity?cursor=${eventsCursor}`,
    ]) {
      const r = await call(w.stack.app, "get", url, { headers: w.a.key });
      expect([r.status, r.body?.field]).toEqual([400, "cursor"]);
    }
  });
});

// Last: its afterAll closes the world the cases above share.
describe("tenant isolation (property)", () => {
  shortRun(isolation, 1717);
});
