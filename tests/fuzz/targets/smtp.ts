/**
 * The SMTP session over real sockets (issue 17, point 2): a real ingress (tests/ingress/harness.ts: the
 * listeners on loopback, the account and client actors, the local content store) driven by random
 * sessions — command sequences in any order and case, pipelined batches, odd line lengths around the
 * limits, NUL, 8-bit and control bytes, bare LF, AUTH right and wrong, DATA with random content,
 * STARTTLS at odd moments (before EHLO, twice, mid-transaction, on the implicit-TLS port). Every reply is
 * a proper SMTP reply (3 digits; 4xx/5xx with an enhanced status of the same class and a sentence),
 * every wait for one is bounded (a hang fails the case), a `250 … queued as <id>` is followed by the
 * message's Accepted event (nothing acknowledged is lost), and the relay still greets a new client.
 */
import fc from "fast-check";
import { waitFor } from "../../helpers/wait.ts";
import { RawClient, type Relay, SANDBOX, SENDER_DOMAIN, startRelay } from "../../ingress/harness.ts";
import type { FuzzTarget } from "../target.ts";

type Step =
  | { kind: "line"; text: string }
  | { kind: "batch"; lines: string[] }
  | { kind: "data"; body: string; lf: boolean }
  | { kind: "starttls" }
  | { kind: "raw"; bytes: Uint8Array };

const odd = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom(510, 511, 512, 998, 1000, 1023, 1024, 1025, 4096).map((n) => "x".repeat(n)),
);
const mailbox = fc.oneof(
  fc.constantFrom(
    `app@${SENDER_DOMAIN}`,
    `delivered@${SANDBOX}`,
    `softbounce@${SANDBOX}`,
    "x@other.example",
    "",
    "postmaster",
  ),
  fc.emailAddress(),
  odd,
);
const param = fc.constantFrom(
  "",
  " SIZE=100",
  " SIZE=999999999999",
  " BODY=8BITMIME",
  " SMTPUTF8",
  " RET=FULL",
  " NOTIFY=NEVER",
  " X=Y",
);

function commandArb(auth: string): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.oneof(
        fc.constantFrom(
          "EHLO client.test",
          "HELO client.test",
          "EHLO",
          "EHLO [127.0.0.1]",
          "RSET",
          "NOOP",
          "VRFY x",
          "EXPN x",
          "HELP",
          "QUIT",
          "BDAT 10 LAST",
          "TURN",
          "ETRN x",
        ),
        fc.constantFrom(
          `AUTH PLAIN ${auth}`,
          "AUTH PLAIN",
          "AUTH PLAIN =",
          "AUTH PLAIN AGFiYwBkZWY=",
          "AUTH CRAM-MD5",
          "AUTH XOAUTH2 x",
          "AUTH PLAIN !!!",
        ),
        fc.tuple(mailbox, param).map(([m, p]) => `MAIL FROM:<${m}>${p}`),
        fc.tuple(mailbox, param).map(([m, p]) => `RCPT TO:<${m}>${p}`),
        mailbox.map((m) => `MAIL FROM: ${m}`),
        odd,
      ),
      fc.boolean(),
    )
    .map(([c, lower]) => (lower ? c.toLowerCase() : c).replace(/[\r\n]/g, " "));
}

function stepArb(auth: string): fc.Arbitrary<Step> {
  const cmd = commandArb(auth);
  return fc.oneof(
    { weight: 5, arbitrary: cmd.map((text) => ({ kind: "line" as const, text })) },
    {
      weight: 2,
      arbitrary: fc
        .array(cmd, { minLength: 2, maxLength: 6 })
        .map((lines) => ({ kind: "batch" as const, lines })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          from: fc.constantFrom(`app@${SENDER_DOMAIN}`, "x@other.example", ""),
          body: fc.oneof(
            fc.string({ maxLength: 200 }),
            fc.string({ unit: "binary", maxLength: 200 }),
            fc.constant(".\r\n..\r\n.x"),
          ),
          lf: fc.boolean(),
        })
        .map(({ from, body, lf }) => ({
          kind: "data" as const,
          // Dot-stuffed (RFC 5321 §4.5.2), so that the content ends where the step ends.
          body: `${from ? `From: ${from}\r\n` : ""}Subject: fuzz\r\n\r\n${body.replace(/(^|\r|\n)\./g, "$1..")}`,
          lf,
        })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "starttls" as const }) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 300 })
        .map((bytes) => ({ kind: "raw" as const, bytes })),
    },
  );
}

/** A proper SMTP reply: every line 3 digits, one separator; 4xx/5xx: enhanced status of its class, then words. */
function checkReply(r: string, after: string): void {
  for (const line of r.split("\r\n")) {
    const m = /^(\d{3})([ -])(.*)$/.exec(line) ?? /^(\d{3})()()$/.exec(line);
    if (!m) throw new Error(`not an SMTP reply line ${JSON.stringify(line)} after ${after}`);
    const code = Number(m[1]);
    if (code < 200 || code > 599) throw new Error(`reply code ${code} after ${after}`);
    if (code >= 400) {
      const e = /^([45])\.\d{1,3}\.\d{1,3} \S/.exec(m[3]!);
      if (!e || e[1] !== String(m[1]![0]))
        throw new Error(`refusal without a proper enhanced status: ${JSON.stringify(line)} after ${after}`);
    }
  }
}

const READ_MS = 10_000;

async function run(relay: Relay, tls: boolean, steps: Step[], queued: string[]): Promise<void> {
  const c = await RawClient.connect(tls ? relay.ingress.ports.smtps : relay.ingress.ports.submission, tls);
  try {
    const read = async (after: string): Promise<string | undefined> => {
      let r = await c.reply(READ_MS);
      if (r === "") return undefined; // closed
      checkReply(r, after);
      for (let n = 0; r.startsWith("334") && n < 3; n++) {
        // An AUTH exchange asks for more: "*" cancels it, and its answer stands for the same line.
        c.write("*\r\n");
        r = await c.reply(READ_MS);
        if (r === "") return undefined;
        checkReply(r, after);
      }
      const q = /^250 2\.0\.0 OK queued as (\S+)/m.exec(r);
      if (q) queued.push(q[1]!);
      return r;
    };
    if ((await read("connect")) === undefined) return;
    for (const s of steps) {
      if (c.closed) return;
      const what = JSON.stringify(s).slice(0, 200);
      if (s.kind === "line") {
        c.write(`${s.text}\r\n`);
        if ((await read(what)) === undefined) return;
      } else if (s.kind === "batch") {
        c.write(s.lines.map((l) => `${l}\r\n`).join(""));
        for (let i = 0; i < s.lines.length; i++) {
          const r = await read(what);
          if (r === undefined) return;
          if (r.startsWith("354")) {
            c.write("\r\n.\r\n"); // the batch's remaining lines were message content
            if ((await read(what)) === undefined) return;
            break;
          }
        }
      } else if (s.kind === "data") {
        c.write("DATA\r\n");
        const r = await read(what);
        if (r === undefined) return;
        if (r.startsWith("354")) {
          const body = s.lf ? s.body.replace(/\r\n/g, "\n") : s.body;
          c.write(`${body}\r\n.\r\n`);
          if ((await read(what)) === undefined) return;
        }
      } else if (s.kind === "starttls") {
        const r = await c.starttls().catch((e: Error) => `TLS: ${e.message}`);
        if (r.startsWith("TLS: ")) return; // a handshake refused after 220 closes the session
        if (r === "") return;
        checkReply(r, what);
      } else {
        c.write(Buffer.from(s.bytes));
        c.write("\r\n");
        if ((await read(what)) === undefined) return;
      }
    }
    c.write("QUIT\r\n");
    await read("QUIT");
  } finally {
    c.close();
  }
}

export const smtp: FuzzTarget = {
  name: "smtp",
  shortRuns: 60,
  caseTimeoutMs: 60_000,
  async open() {
    const cleanups: (() => Promise<void>)[] = [];
    // A fuzzer fails AUTH often: no IP block, so later cases are still served.
    const relay = await startRelay(cleanups, { limits: { authMaxFailures: 1_000_000 } });
    let accepted = 0;
    const auth = Buffer.from(`\0${relay.user.username}\0${relay.user.password}`).toString("base64");
    // Half the sessions open as a client would (EHLO, STARTTLS on 587, EHLO, AUTH, MAIL, RCPT), so
    // that the random steps also reach the transaction and DATA.
    const opening = (tls: boolean): Step[] => [
      { kind: "line", text: "EHLO client.test" },
      ...(tls ? [] : [{ kind: "starttls" } as Step, { kind: "line", text: "EHLO client.test" } as Step]),
      { kind: "line", text: `AUTH PLAIN ${auth}` },
      { kind: "line", text: `MAIL FROM:<app@${SENDER_DOMAIN}>` },
      { kind: "line", text: `RCPT TO:<delivered@${SANDBOX}>` },
    ];
    const session = fc
      .record({ tls: fc.boolean(), open: fc.boolean(), steps: fc.array(stepArb(auth), { maxLength: 14 }) })
      .map(({ tls, open, steps }) => ({ tls, steps: open ? [...opening(tls), ...steps] : steps }));
    return {
      property: fc.asyncProperty(session, async ({ tls, steps }) => {
        const queued: string[] = [];
        await run(relay, tls, steps, queued);
        accepted += queued.length;
        for (const id of queued)
          await waitFor(
            () => relay.events.some((e) => e.recipientId.startsWith(`${id}.`) && e.status === "Accepted"),
            {
              what: `the Accepted event of ${id}, acknowledged with 250`,
            },
          );
        const probe = await RawClient.connect(relay.ingress.ports.submission);
        const greeting = await probe.reply(READ_MS);
        probe.close();
        if (!greeting.startsWith("220 "))
          throw new Error(`the relay no longer greets: ${JSON.stringify(greeting)}`);
      }),
      async close() {
        if (process.env.PETREL_FUZZ_VERBOSE) console.log(`smtp: ${accepted} messages acknowledged`);
        for (const f of cleanups.reverse()) await f();
      },
    };
  },
};
