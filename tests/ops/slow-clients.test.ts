/**
 * Issue 17 point 4 at CI scale: slow sessions from several loopback addresses (127.0.0.x) against
 * a whole relay (tests/ops/stack.ts) while a normal client sends mail. Every slow session is
 * closed by an S13 limit with its reply — idle and byte-dripping sessions by the idle timeout,
 * NOOP-keepers by the total session time, a DATA dripper by the minimum data rate — the per-IP
 * limit (S4) refuses one address's extra connection with 421 4.7.0 while another address still
 * gets in, and the normal client gets its 250. `npm run bench:slow-clients` runs 2,000 sessions
 * and measures memory and the normal client's latency (BENCHMARKS.md).
 *
 * Fails if a limit is removed (harden.ts `arm`, the session timer, `watchData`; the per-IP lease):
 * the session then stays open past the bounded wait, or the extra connection is greeted 220.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDnsServer } from "../dns/server.ts";
import { LineClient, type SlowSession, slowSession } from "./clients.ts";
import { type Stack, startStack } from "./stack.ts";

const available = requireDnsServer("slow clients (tests/ops/slow-clients.test.ts)");

const IDLE_MS = 2_000;
const SESSION_MS = 6_000;
const PER_IP = 4;

/** Resolves the session's last reply, or "still open" once `ms` passed (bounded). */
const closedWithin = (s: SlowSession, ms: number) =>
  Promise.race([s.closed, new Promise<string>((r) => setTimeout(() => r("still open"), ms))]);

describe.skipIf(!available)("slow clients are closed by the S13 limits (issue 17 point 4)", () => {
  let s: Stack;
  const sessions: SlowSession[] = [];

  beforeAll(async () => {
    s = await startStack({
      env: {
        PETREL_SMTP_IDLE_TIMEOUT_MS: String(IDLE_MS),
        PETREL_SMTP_MAX_SESSION_MS: String(SESSION_MS),
        PETREL_SMTP_SESSIONS_PER_IP: String(PER_IP),
        PETREL_SMTP_MIN_DATA_RATE: "1024",
      },
    });
  }, 180_000);

  afterAll(async () => {
    for (const x of sessions) x.destroy();
    await s?.stop();
  });

  it("idle, dripping and NOOP-keeping sessions from 127.0.0.2-10 are closed with 421 4.4.2; the normal client gets 250", async () => {
    const port = s.relay.ingress.ports.submission;
    const before = await s.scrape();
    const flood: SlowSession[] = [];
    // One session per address (127.0.0.2-10), so the per-IP limit is not what closes them.
    for (let ip = 2; ip <= 4; ip++)
      for (const kind of ["idle", "drip", "noop"] as const)
        flood.push(
          slowSession(port, `127.0.0.${ip + (kind === "idle" ? 0 : kind === "drip" ? 3 : 6)}`, kind, 300),
        );
    sessions.push(...flood);
    for (const x of flood) expect(await x.greeting).toMatch(/^220 /);

    // A DATA dripper: authenticated, then one byte a second into the message.
    const dripper = await LineClient.authenticated(port, s.user.username, s.user.password);
    expect(await dripper.cmd("MAIL FROM:<app@shop.example>")).toMatch(/^250 /);
    expect(await dripper.cmd("RCPT TO:<dave@good.test>")).toMatch(/^250 /);
    expect(await dripper.cmd("DATA")).toMatch(/^354 /);
    const drip = setInterval(() => dripper.write("x"), 1_000);
    const dataCut = dripper.reply(SESSION_MS + 10_000).finally(() => clearInterval(drip));

    // The normal client meanwhile.
    const normal = await LineClient.authenticated(port, s.user.username, s.user.password);
    const sent = await normal.sendTimed("app@shop.example", "erin@good.test", "hello");
    expect(sent.reply).toMatch(/^250 /);
    normal.close();

    const bound = SESSION_MS + 10_000;
    const ends = await Promise.all(flood.map((x) => closedWithin(x, bound)));
    flood.forEach((x, i) => {
      const want = x.kind === "noop" ? /^421 4\.4\.2 Session time limit/ : /^421 4\.4\.2 Idle timeout/;
      expect(ends[i], `${x.kind} session`).toMatch(want);
    });
    expect(await dataCut).toBe("421 4.4.2 Data rate too low, closing connection");
    dripper.close();

    const after = await s.scrape();
    expect(after.value("petrel_smtp_refusals_total", { code: "421" })).toBeGreaterThanOrEqual(
      before.value("petrel_smtp_refusals_total", { code: "421" }) + flood.length + 1,
    );
  }, 60_000);

  it("the per-IP limit refuses 127.0.0.20's extra connection while 127.0.0.21 still gets in", async () => {
    const port = s.relay.ingress.ports.submission;
    const held: SlowSession[] = [];
    for (let i = 0; i < PER_IP; i++) held.push(slowSession(port, "127.0.0.20", "noop", 300));
    sessions.push(...held);
    for (const x of held) expect(await x.greeting).toMatch(/^220 /);
    const extra = slowSession(port, "127.0.0.20", "idle");
    const other = slowSession(port, "127.0.0.21", "idle");
    sessions.push(extra, other);
    expect(await extra.greeting).toBe("421 4.7.0 Too many simultaneous connections from your IP address");
    expect(await other.greeting).toMatch(/^220 /);
    for (const x of [...held, extra, other]) x.destroy();
  }, 30_000);
});
