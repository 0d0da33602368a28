/**
 * Generators shared by the fuzzers: forged cursors (base64url of arbitrary JSON, with numbers beyond
 * 2^53, negative, fractional, huge), query values of odd shapes and lengths, and ids of the right shape.
 */
import fc from "fast-check";
import { toBase64Url } from "../../shared/base64url.ts";

const b64 = (s: string) => toBase64Url(new TextEncoder().encode(s));

/** Numbers a JSON document can carry, biased to the edges: 2^53 ± 1, 1e+300, -0, fractions. */
export const edgyNumber: fc.Arbitrary<number> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      0,
      -1,
      2 ** 53,
      2 ** 53 + 2,
      -(2 ** 53) - 2,
      2 ** 63,
      1e300,
      -1e300,
      1.5,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      8.64e15,
      1e13,
    ),
  },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.maxSafeInteger() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** A cursor's JSON text: the shapes the activity and suppression cursors take, and anything else. */
export const cursorJson: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        edgyNumber,
        fc.string({ maxLength: 40 }),
        fc.option(fc.constantFrom(0, 1, 0, 1, 2, -1, 0.5), { nil: undefined }),
      )
      .map(([n, id, kind]) => JSON.stringify(kind === undefined ? [n, id] : [n, id, kind])),
  },
  // Written as text, so exponents and long digit runs reach the decoder as typed (`[1e+300,"x"]`).
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          "1e+300",
          "9007199254740993",
          "-9007199254740993",
          "1e21",
          "12345678901234567890",
          "1.0",
          "-0",
        ),
        fc.string({ maxLength: 12 }),
      )
      .map(([n, id]) => `[${n},${JSON.stringify(id)}]`),
  },
  {
    weight: 1,
    arbitrary: fc.record({ at: edgyNumber, key: fc.string({ maxLength: 40 }) }).map((o) => JSON.stringify(o)),
  },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
);

/** A cursor value: base64url of JSON, raw text, or a real cursor of either tenant. */
export function cursorArb(real: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: cursorJson.map(b64) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.constantFrom(...real) },
    { weight: 1, arbitrary: fc.constantFrom(...real).map((c) => `${c}A`) },
  );
}

/** A query value of any shape: empty, long, control bytes, numbers, dates, lists. */
export const queryValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom(
    "",
    "0",
    "-1",
    "1001",
    "1e3",
    "NaN",
    "Infinity",
    "9007199254740993",
    "99999999999999999999",
    "2026-11-02T00:00:00Z",
    "2026-11-02T00:00:00+14:00",
    "2026-02-30T00:00:00Z",
    "today",
    "7d",
    "cumulative",
    "events",
    "recipients",
    "Delivered,Rejected",
    "null",
    "[]",
    "{}",
  ),
  edgyNumber.map(String),
  fc.nat({ max: 5000 }).map((n) => "x".repeat(n)),
);

/** Ids of the shapes the API uses, plus forged look-alikes. */
export function idArb(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...known),
    fc.constantFrom(...known).map((k) => k.toUpperCase()),
    fc.constantFrom(...known).map((k) => `${k} `),
    fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.nat({ max: 40 })).map(([p, n]) => `${p}m${n}.0`),
    fc.stringMatching(/^[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,12}\.[a-z]{2,6}$/),
    fc.string({ maxLength: 40 }),
    fc.constantFrom("..", ".", "%2e%2e", "%00", "a%2Fb", "' OR 1=1 --", "x".repeat(600)),
  );
}
