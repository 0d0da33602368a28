/**
 * The suppression list through the API (D8) over the real stack (tests/api/harness.ts: LogBus,
 * ActorSystem on a ManualClock with the account and suppression actors, the app): list newest
 * first with a cursor, manual add (idempotent, validated, domain lower-cased), remove, hard-bounce
 * entries as the domain actor adds them, errors as `{ code, message, field }`, and the OpenAPI
 * document. Who may call each route is in the permission matrix (permissions.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeCursor,
  encodeCursor,
  entryClass,
  liftMatches,
  normalizeAddress,
  pageEntries,
  type SuppressionEntry,
} from "../../actors/account/suppression.ts";
import { suppressionKey } from "../../actors/keys.ts";
import { classifyReply, decisionOf } from "../../shared/bounce/classify.ts";
import { type ApiStack, bearer, call, OPERATOR, type Reply, startApiStack } from "./harness.ts";

const A = "acct-supp-a";
const B = "acct-supp-b";
let stack: ApiStack;
let keyA: Record<string, string>;
let keyB: Record<string, string>;

beforeAll(async () => {
  stack = await startApiStack();
  for (const id of [A, B]) await stack.service.createAccount({ accountId: id, name: id, plan: "starter" });
  keyA = bearer((await stack.service.createApiKey(A, { scopes: ["suppressions:write"] })).key);
  keyB = bearer((await stack.service.createApiKey(B, { scopes: ["suppressions:write"] })).key);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

function expectError(r: Reply, status: number, code: string, field?: string): void {
  expect({ status: r.status, code: r.body?.code, field: r.body?.field }).toEqual({
    status,
    code,
    field,
  });
  expect(typeof r.body.message).toBe("string");
}

const add = (address: string, headers = keyA, reason?: string) =>
  call(stack.app, "post", "/v1/suppressions", {
    headers,
    body: { address, ...(reason ? { reason } : {}) },
  });
const list = (query = "", headers = keyA) => call(stack.app, "get", `/v1/suppressions${query}`, { headers });
const remove = (address: string, headers = keyA) =>
  call(stack.app, "delete", `/v1/suppressions/${encodeURIComponent(address)}`, { headers });

describe("addresses (pure)", () => {
  // [input, stored form or undefined]
  const table: [string, string | undefined][] = [
    ["user@example.com", "user@example.com"],
    ["John.Doe@Example.COM", "John.Doe@example.com"],
    ["  a+tag@sub.example.org  ", "a+tag@sub.example.org"],
    ["josé@exämple.de", "josé@exämple.de"],
    ["user@example.com.", "user@example.com"],
    ["nope", undefined],
    ["@example.com", undefined],
    ["user@", undefined],
    ["user@localhost", undefined],
    ["a b@example.com", undefined],
    ["<user@example.com>", undefined],
    ["a..b@example.com", undefined],
    [".a@example.com", undefined],
    ["user@-bad.example", undefined],
    ["user@exa_mple.com", undefined],
    [`${"x".repeat(65)}@example.com`, undefined],
    [`u@${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`, undefined],
  ];
  for (const [input, want] of table)
    it(JSON.stringify(input), () => expect(normalizeAddress(input)).toBe(want));
});

describe("paging (pure)", () => {
  const e = (address: string, at: number, source: string): SuppressionEntry =>
    ({ address, reason: "r", source, at }) as SuppressionEntry;
  const entries = {
    "a@x.test": e("a@x.test", 10, "bounce"),
    "b@x.test": e("b@x.test", 30, "api"),
    "c@x.test": e("c@x.test", 20, "manual"),
    "d@x.test": e("d@x.test", 20, "hard_bounce"),
  };

  it("is newest first, ties by address, and maps the old source names", () => {
    const p = pageEntries(entries, 10);
    expect(p.entries.map((x) => [x.address, x.source])).toEqual([
      ["b@x.test", "manual"],
      ["c@x.test", "manual"],
      ["d@x.test", "hard_bounce"],
      ["a@x.test", "hard_bounce"],
    ]);
    expect(p.next).toBeUndefined();
  });

  it("chains pages by cursor without gaps or repeats", () => {
    const seen: string[] = [];
    let after: ReturnType<typeof decodeCursor>;
    for (let i = 0; i < 5; i++) {
      const p = pageEntries(entries, 3 - (i % 2) * 2, after);
      seen.push(...p.entries.map((x) => x.address));
      if (!p.next) break;
      after = decodeCursor(p.next);
      expect(after).toBeDefined();
    }
    expect(seen).toEqual(["b@x.test", "c@x.test", "d@x.test", "a@x.test"]);
  });

  it("reads back its own cursors only", () => {
    expect(decodeCursor(encodeCursor({ at: 20, key: "josé@x.test" }))).toEqual({
      at: 20,
      key: "josé@x.test",
    });
    for (const bad of ["", "abc", "12.", "12.!!", "x.YUB4", "12.bm9hdA"])
      expect(decodeCursor(bad)).toBeUndefined();
  });
});

describe("/v1/suppressions", () => {
  it("adds by hand: 201 with the entry, domain lower-cased, source manual, the time of the clock", async () => {
    const r = await add("Jane.Doe@Example.COM", keyA, "asked to stop");
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      address: "Jane.Doe@example.com",
      reason: "asked to stop",
      source: "manual",
      suppressedAt: stack.clock.now(),
    });
    expect(await stack.service.listSuppressions(A)).toMatchObject({
      suppressions: [{ address: "Jane.Doe@example.com" }],
    });
  });

  it("is idempotent: adding again (any case) answers 200 with the first entry, unchanged", async () => {
    const before = (await list()).body.suppressions;
    stack.clock.advance(60_000);
    const r = await add("jane.doe@EXAMPLE.com", keyA, "another reason");
    expect(r.status).toBe(200);
    expect(r.body.address).toBe("Jane.Doe@example.com");
    expect(r.body.reason).toBe("asked to stop");
    expect((await list()).body.suppressions).toEqual(before);
  });

  it("defaults the reason of a manual entry", async () => {
    const r = await add("noreason@example.com");
    expect(r.status).toBe(201);
    expect(r.body.reason).toBe("added manually");
  });

  it("accepts a UTF-8 local part (SMTPUTF8 recipients)", async () => {
    const r = await add("josé@example.com");
    expect(r.status).toBe(201);
    expect(r.body.address).toBe("josé@example.com");
  });

  it("refuses what is not a mailbox, naming the field; nothing is added", async () => {
    const before = (await list("?limit=1000")).body.suppressions.length;
    for (const bad of ["nope", "a b@example.com", "<x@example.com>", "x@localhost", "a..b@example.com", ""])
      expectError(await add(bad), 400, "invalid_request", "address");
    expectError(
      await call(stack.app, "post", "/v1/suppressions", { headers: keyA, body: { reason: "x" } }),
      400,
      "invalid_request",
      "address",
    );
    expectError(
      await call(stack.app, "post", "/v1/suppressions", {
        headers: keyA,
        body: { address: "ok@example.com", reason: "r".repeat(201) },
      }),
      400,
      "invalid_request",
      "reason",
    );
    expect((await list("?limit=1000")).body.suppressions.length).toBe(before);
  });

  it("shows hard bounces as the domain actor adds them (source hard_bounce, the bounce reason)", async () => {
    // What actors/domain/behavior.ts sends on a hard bounce (D8).
    await stack.system.tell(suppressionKey(A), {
      t: "add",
      address: "Gone@Bounced.example",
      reason: "unknown_user",
      recipientId: "m1.0",
      at: stack.clock.now(),
    });
    const r = await list("?limit=1");
    expect(r.status).toBe(200);
    expect(r.body.suppressions).toEqual([
      {
        address: "Gone@bounced.example",
        reason: "unknown_user",
        source: "hard_bounce",
        suppressedAt: stack.clock.now(),
        recipientId: "m1.0",
      },
    ]);
    expect(typeof r.body.next).toBe("string");
  });

  it("lists newest first, page by page through `next`, every entry once", async () => {
    for (let i = 0; i < 7; i++) {
      stack.clock.advance(1_000);
      expect((await add(`page${i}@paging.example`)).status).toBe(201);
    }
    const all = (await list("?limit=1000")).body.suppressions as { address: string; suppressedAt: number }[];
    expect(all.slice(0, 7).map((s) => s.address)).toEqual(
      [6, 5, 4, 3, 2, 1, 0].map((i) => `page${i}@paging.example`),
    );
    for (let i = 1; i < all.length; i++)
      expect(all[i - 1]!.suppressedAt).toBeGreaterThanOrEqual(all[i]!.suppressedAt);
    const paged: string[] = [];
    let query = "?limit=3";
    for (let i = 0; i < 20; i++) {
      const r = await list(query);
      expect(r.status).toBe(200);
      expect(r.body.suppressions.length).toBeLessThanOrEqual(3);
      paged.push(...r.body.suppressions.map((s: { address: string }) => s.address));
      if (!r.body.next) break;
      query = `?limit=3&cursor=${encodeURIComponent(r.body.next)}`;
    }
    expect(paged).toEqual(all.map((s) => s.address));
  });

  it("refuses a bad limit or cursor, naming the field", async () => {
    expectError(await list("?limit=0"), 400, "invalid_request", "limit");
    expectError(await list("?limit=1001"), 400, "invalid_request", "limit");
    expectError(await list("?limit=abc"), 400, "invalid_request", "limit");
    expectError(await list("?cursor=not-a-cursor"), 400, "invalid_request", "cursor");
  });

  it("removes (any case): 204, then the address is gone; removing again is 404 not_found", async () => {
    expect((await add("remove.me@example.com")).status).toBe(201);
    const r = await remove("Remove.Me@EXAMPLE.com");
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    const left = (await list("?limit=1000")).body.suppressions.map((s: { address: string }) => s.address);
    expect(left).not.toContain("remove.me@example.com");
    expectError(await remove("remove.me@example.com"), 404, "not_found");
    expectError(await remove("not an address"), 400, "invalid_request", "address");
  });

  it("keeps accounts apart: B neither sees nor removes A's entries", async () => {
    expect((await add("only-a@example.com")).status).toBe(201);
    const b = await list("?limit=1000", keyB);
    expect(b.status).toBe(200);
    expect(b.body.suppressions).toEqual([]);
    expectError(await remove("only-a@example.com", keyB), 404, "not_found");
    expect(
      (await list("?limit=1000")).body.suppressions.map((s: { address: string }) => s.address),
    ).toContain("only-a@example.com");
    // B's own entry of the same address is its own.
    expect((await add("only-a@example.com", keyB)).status).toBe(201);
  });

  it("serves the operator on the named account; an unknown account is 404 account_not_found", async () => {
    const r = await call(stack.app, "get", `/v1/admin/accounts/${A}/suppressions?limit=1`, {
      headers: OPERATOR,
    });
    expect(r.status).toBe(200);
    expect(r.body.suppressions).toHaveLength(1);
    expectError(
      await call(stack.app, "get", "/v1/admin/accounts/no-such-account/suppressions", { headers: OPERATOR }),
      404,
      "account_not_found",
    );
    expectError(
      await call(stack.app, "post", "/v1/admin/accounts/no-such-account/suppressions", {
        headers: OPERATOR,
        body: { address: "x@example.com" },
      }),
      404,
      "account_not_found",
    );
  });

  it("is in /openapi.json with its schemas", async () => {
    const doc = (await call(stack.app, "get", "/openapi.json")).body;
    expect(Object.keys(doc.paths["/v1/suppressions"]).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/v1/suppressions/{address}"])).toEqual(["delete"]);
    expect(doc.paths["/v1/suppressions"].post.requestBody.content["application/json"].schema.$ref).toBe(
      "#/components/schemas/AddSuppression",
    );
    expect(doc.components.schemas.Suppression.properties.source.enum).toEqual(["hard_bounce", "manual"]);
    const query = doc.paths["/v1/suppressions"].get.parameters.map(
      (p: { name: string; in: string }) => `${p.in}:${p.name}`,
    );
    expect(query).toEqual(["query:limit", "query:cursor"]);
    expect(doc.paths["/v1/suppressions"].get["x-petrel-auth"]).toEqual({
      who: "account",
      member: "smtp.suppressions",
      scope: "suppressions:write",
      plan: true,
    });
  });
});

describe("bulk lift (issue 15): the reply, class and rule of each hard bounce; lift by them", () => {
  const C = "acct-supp-lift";
  const D = "acct-supp-lift-other";
  let keyC: Record<string, string>;
  let keyD: Record<string, string>;
  const UNKNOWN =
    "550 5.1.1 <x@a.example>: Recipient address rejected: User unknown in virtual mailbox table";
  const DISABLED = "550 5.2.1 Mailbox disabled, not accepting messages";
  /** What actors/domain/behavior.ts sends on a hard bounce: the reply and the classifier's decision. */
  const bounce = (account: string, address: string, reply: string, at: number, recipientId: string) =>
    stack.system.tell(suppressionKey(account), {
      t: "add",
      address,
      reason: classifyReply(reply, "RCPT").reason,
      recipientId,
      at,
      reply,
      decision: decisionOf(classifyReply(reply, "RCPT")),
    });
  const lift = (body: unknown, headers = keyC) =>
    call(stack.app, "post", "/v1/suppressions/lift", { headers, body });
  const addresses = async (headers = keyC) =>
    ((await list("?limit=1000", headers)).body.suppressions as { address: string }[])
      .map((s) => s.address)
      .sort();

  beforeAll(async () => {
    for (const id of [C, D]) await stack.service.createAccount({ accountId: id, name: id, plan: "starter" });
    keyC = bearer((await stack.service.createApiKey(C, { scopes: ["suppressions:write"] })).key);
    keyD = bearer((await stack.service.createApiKey(D, { scopes: ["suppressions:write"] })).key);
  });

  it("pure: the class of an entry is its decision's, else its reason's (entries from before)", () => {
    const base: SuppressionEntry = {
      address: "a@b.example",
      reason: "unknown_user",
      source: "hard_bounce",
      at: 5,
    };
    expect(entryClass(base)).toBe("unknown_user");
    expect(entryClass({ ...base, reason: "mailbox_disabled" })).toBe("disabled");
    expect(entryClass({ ...base, reason: "asked to stop" })).toBeUndefined();
    const decided = { ...base, decision: { class: "policy" as const, rule: "r1", says: "s" } };
    expect(liftMatches(decided, { class: "policy" })).toBe(true);
    expect(liftMatches(decided, { class: "unknown_user" })).toBe(false);
    expect(liftMatches(decided, { rule: "r1", since: 5, until: 6 })).toBe(true);
    expect(liftMatches(decided, { rule: "r1", since: 6 })).toBe(false);
    expect(liftMatches(decided, { until: 5 })).toBe(false);
    expect(liftMatches(decided, { source: "manual" })).toBe(false);
  });

  it("a hard-bounce entry shows the reply that caused it, its class, rule and the decision in words", async () => {
    const at = stack.clock.now();
    await bounce(C, "Ghost@A.example", UNKNOWN, at, "m9.0");
    const r = await list("?limit=1", keyC);
    expect(r.body.suppressions).toEqual([
      {
        address: "Ghost@a.example",
        reason: "unknown_user",
        source: "hard_bounce",
        suppressedAt: at,
        recipientId: "m9.0",
        remoteReply: UNKNOWN,
        class: "unknown_user",
        rule: classifyReply(UNKNOWN, "RCPT").rule,
        explanation: `Hard bounce — unknown user (${classifyReply(UNKNOWN, "RCPT").says})`,
      },
    ]);
  });

  it("lifts by class, by rule, by time; dryRun counts only; scoped to the caller's account", async () => {
    const t0 = stack.clock.now();
    await bounce(C, "d1@b.example", DISABLED, t0 + 1_000, "m10.0");
    await bounce(C, "d2@b.example", DISABLED, t0 + 2_000, "m11.0");
    await bounce(C, "u1@b.example", UNKNOWN, t0 + 3_000, "m12.0");
    expect((await add("manual@b.example", keyC)).status).toBe(201);
    await bounce(D, "d1@b.example", DISABLED, t0 + 1_000, "m13.0");
    const before = await addresses();
    expect(before).toEqual([
      "Ghost@a.example",
      "d1@b.example",
      "d2@b.example",
      "manual@b.example",
      "u1@b.example",
    ]);

    const dry = await lift({ class: "disabled", dryRun: true });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body).toEqual({ lifted: 2, dryRun: true });
    expect(await addresses()).toEqual(before);

    // by class and time: only d2 was suppressed at or after t0 + 1.5 s
    expect((await lift({ class: "disabled", since: new Date(t0 + 1_500).toISOString() })).body).toEqual({
      lifted: 1,
      dryRun: false,
    });
    expect(await addresses()).toEqual([
      "Ghost@a.example",
      "d1@b.example",
      "manual@b.example",
      "u1@b.example",
    ]);

    // by rule: the unknown-user rule takes both unknown-user entries, nothing else
    const rule = classifyReply(UNKNOWN, "RCPT").rule;
    expect((await lift({ rule })).body).toEqual({ lifted: 2, dryRun: false });
    expect(await addresses()).toEqual(["d1@b.example", "manual@b.example"]);

    // the other account's entry of the same class stays; the operator lifts it on that account
    expect(await addresses(keyD)).toEqual(["d1@b.example"]);
    const op = await call(stack.app, "post", `/v1/admin/accounts/${D}/suppressions/lift`, {
      headers: OPERATOR,
      body: { class: "disabled", until: t0 + 60_000 },
    });
    expect(op.body).toEqual({ lifted: 1, dryRun: false });
    expect(await addresses(keyD)).toEqual([]);
    expect(await addresses()).toEqual(["d1@b.example", "manual@b.example"]);
  });

  it("refuses an empty filter, an unknown class and a bad time, naming the field; nothing is lifted", async () => {
    const before = await addresses();
    // No criterion: the body as a whole is refused (field `json`), with the sentence saying what to give.
    const empty = await lift({});
    expectError(empty, 400, "invalid_request", "json");
    expect(empty.body.message).toContain("at least one of class, rule, source, since, until");
    expectError(await lift({ dryRun: true }), 400, "invalid_request", "json");
    expectError(await lift({ class: "spam" }), 400, "invalid_request", "class");
    expectError(await lift({ since: "yesterday" }), 400, "invalid_request", "since");
    expect(await addresses()).toEqual(before);
    const doc = (await call(stack.app, "get", "/openapi.json")).body;
    expect(Object.keys(doc.paths["/v1/suppressions/lift"])).toEqual(["post"]);
    expect(doc.components.schemas.LiftSuppressions.properties.class.enum).toContain("policy");
  });
});
