/**
 * S2 over real sockets: AUTH PLAIN with and without an initial response, with an authorization
 * identity that is empty or equal to the user (and refused when it names someone else), AUTH
 * LOGIN; a password reset or a deleted user stops the old credentials at once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RawClient, type Relay, startRelay } from "./harness.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function tls(relay: Relay): Promise<RawClient> {
  const c = await RawClient.connect(relay.ingress.ports.smtps, true);
  await c.reply();
  await c.cmd("EHLO client.test");
  return c;
}

describe("S2 AUTH", () => {
  it("PLAIN with an empty or equal authorization identity, with or without an initial response; LOGIN", async () => {
    const relay = await startRelay(cleanups);
    const { username: u, password: p } = relay.user;
    const cases: [string, string[]][] = [
      ["empty authzid, initial response", [`AUTH PLAIN ${b64(`\0${u}\0${p}`)}`]],
      ["authzid = user", [`AUTH PLAIN ${b64(`${u}\0${u}\0${p}`)}`]],
      ["no initial response", ["AUTH PLAIN", b64(`\0${u}\0${p}`)]],
      ["LOGIN", ["AUTH LOGIN", b64(u), b64(p)]],
    ];
    for (const [name, lines] of cases) {
      const c = await tls(relay);
      let last = "";
      for (const l of lines) last = await c.cmd(l);
      expect(last, name).toBe("235 2.7.0 Authentication successful");
      c.close();
    }
  });

  it("refuses an authorization identity naming another user, and wrong passwords, with 535 5.7.8", async () => {
    const relay = await startRelay(cleanups);
    const { username: u, password: p } = relay.user;
    const c = await tls(relay);
    expect(await c.cmd(`AUTH PLAIN ${b64(`someone-else\0${u}\0${p}`)}`)).toBe(
      "535 5.7.8 Authentication credentials invalid",
    );
    expect(await c.cmd(`AUTH PLAIN ${b64(`\0${u}\0nope`)}`)).toBe(
      "535 5.7.8 Authentication credentials invalid",
    );
    c.close();
  });

  it("a reset or a deleted user stops the old password at once (auth cache keyed by generation)", async () => {
    const relay = await startRelay(cleanups);
    const { username: u, password: p } = relay.user;
    const first = await tls(relay);
    expect(await first.cmd(`AUTH PLAIN ${b64(`\0${u}\0${p}`)}`)).toMatch(/^235 /); // now cached
    first.close();
    const fresh = await relay.node.service.resetSmtpUser(relay.accountId, u);
    const c = await tls(relay);
    expect(await c.cmd(`AUTH PLAIN ${b64(`\0${u}\0${p}`)}`)).toBe(
      "535 5.7.8 Authentication credentials invalid",
    );
    expect(await c.cmd(`AUTH PLAIN ${b64(`\0${u}\0${fresh.password}`)}`)).toMatch(/^235 /);
    c.close();
    await relay.node.service.deleteSmtpUser(relay.accountId, u);
    const d = await tls(relay);
    expect(await d.cmd(`AUTH PLAIN ${b64(`\0${u}\0${fresh.password}`)}`)).toBe(
      "535 5.7.8 Authentication credentials invalid",
    );
    d.close();
  });
});
