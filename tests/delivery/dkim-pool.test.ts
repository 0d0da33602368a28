/**
 * DKIM signing on worker threads (DkimPool) makes exactly the signature the calling thread makes
 * (RSA PKCS#1 v1.5 is deterministic for a given time), many at once, and reports a key that does
 * not sign as a DkimSignError, as the inline signer does. The independent verification of what
 * the pool signs is in postfix.test.ts (dkimpy), whose harness signs through a pool.
 * The signature cache shares one signature among a message's attempts, also while it is being made.
 */
import { afterAll, describe, expect, it } from "vitest";
import { DkimPool, DkimSignError, SignatureCache, signMessage } from "../../actors/delivery/dkim.ts";
import { sendingDomain } from "./harness.ts";

const pool = new DkimPool(1);
afterAll(() => pool.close());

const message = (n: number) =>
  Buffer.from(
    `From: a@sender.test\r\nTo: r@rcpt.test\r\nSubject: pool ${n}\r\nMessage-ID: <${n}@sender.test>\r\n\r\nbody ${n}\r\n`,
  );

describe("DKIM on worker threads", () => {
  it("signs byte for byte as the calling thread does, many messages at once", async () => {
    const domain = sendingDomain();
    const at = new Date(Date.UTC(2026, 10, 23, 3, 0, 0));
    const fromPool = await Promise.all(
      Array.from({ length: 20 }, (_, n) => pool.sign(message(n), domain, at)),
    );
    const inline = await Promise.all(
      Array.from({ length: 20 }, (_, n) => signMessage(message(n), domain, at)),
    );
    for (let n = 0; n < 20; n++) {
      expect(fromPool[n]!.toString()).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed;/);
      expect(fromPool[n]!.equals(inline[n]!)).toBe(true);
    }
  });

  it("signatures asked for in one turn go to the thread in one task; a broken key fails only its own message", async () => {
    const domain = sendingDomain();
    const broken = {
      ...domain,
      dkim: domain.dkim.map((k) => ({ ...k, privateKeyPem: "not a key" })),
    } as typeof domain;
    const at = new Date(Date.UTC(2026, 10, 23, 3, 0, 0));
    const before = pool.tasks;
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, n) => pool.sign(message(n), n === 4 ? broken : domain, at)),
    );
    expect(pool.tasks - before).toBe(1);
    for (let n = 0; n < 10; n++) {
      const r = results[n]!;
      if (n === 4) {
        expect(r.status).toBe("rejected");
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DkimSignError);
      } else {
        expect(r.status).toBe("fulfilled");
        const inline = await signMessage(message(n), domain, at);
        expect((r as PromiseFulfilledResult<Buffer>).value.equals(inline)).toBe(true);
      }
    }
    // Another turn, another task.
    await pool.sign(message(11), domain, at);
    expect(pool.tasks - before).toBe(2);
  });

  it("the signing thread parses a key once, not once per message", async () => {
    // In this process, as a worker thread would run it (the module keeps parsed keys).
    const { default: sign } = await import("../../actors/delivery/dkim-thread.js");
    const domain = sendingDomain();
    const key = domain.dkim[0];
    const options = {
      canonicalization: "relaxed/relaxed",
      algorithm: key.algorithm,
      signTime: new Date(),
      headerList: ["From", "Subject"],
      signatureData: [
        {
          signingDomain: domain.domain,
          selector: key.selector,
          privateKey: key.privateKeyPem,
          algorithm: key.algorithm,
        },
      ],
    };
    const first = await sign({ message: message(1), options });
    expect(first.parses).toBeGreaterThan(0); // mailauth's parse went through the kept-keys map
    expect(first.fastCanon).toBe(true); // the body hash runs on dkim-canon.js
    expect(first.direct).toBe(true); // without mailauth's stream (dkim-direct.js)
    for (let n = 2; n <= 5; n++) {
      const r = await sign({ message: message(n), options });
      expect(r.signatures).toMatch(/^DKIM-Signature: /);
      expect(r.errors).toEqual([]);
      expect(r.parses).toBe(first.parses);
    }
  });

  it("a key that cannot sign is a DkimSignError, on either thread", async () => {
    const domain = sendingDomain();
    const broken = {
      ...domain,
      dkim: domain.dkim.map((k) => ({ ...k, privateKeyPem: "not a key" })),
    } as typeof domain;
    await expect(pool.sign(message(1), broken, new Date())).rejects.toBeInstanceOf(DkimSignError);
    await expect(signMessage(message(1), broken, new Date())).rejects.toBeInstanceOf(DkimSignError);
    const noSelector = { ...domain, activeSelector: "missing" };
    await expect(pool.sign(message(1), noSelector, new Date())).rejects.toThrow(/no DKIM key/);
  });
});

describe("signature cache (one signature per message and sending domain)", () => {
  it("attempts that ask at once wait for one signature; a failure is not kept", async () => {
    const cache = new SignatureCache();
    const domain = sendingDomain();
    const at = new Date(Date.UTC(2026, 11, 6, 18, 0, 0));
    let made = 0;
    const make = async () => {
      made++;
      const signed = await pool.sign(message(1), domain, at);
      return signed.subarray(0, signed.length - message(1).length);
    };
    // Five recipient domains of one message: five attempts start before the first signature is back.
    const sigs = await Promise.all(
      Array.from({ length: 5 }, () => cache.signature("m1", at.getTime(), make)),
    );
    expect(made).toBe(1);
    for (const sig of sigs) expect(sig.equals(sigs[0] as Buffer)).toBe(true);
    expect(sigs[0]?.toString()).toMatch(/^DKIM-Signature: /);
    // Kept: a retry later reuses it.
    await cache.signature("m1", at.getTime() + 1000, make);
    expect(made).toBe(1);
    // A failure reaches every waiter and is not kept: the next attempt signs again.
    let fails = 0;
    const failing = async () => {
      fails++;
      throw new DkimSignError("no key");
    };
    const both = await Promise.allSettled([
      cache.signature("m2", at.getTime(), failing),
      cache.signature("m2", at.getTime(), failing),
    ]);
    expect(both.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(fails).toBe(1);
    await expect(cache.signature("m2", at.getTime(), failing)).rejects.toThrow(DkimSignError);
    expect(fails).toBe(2);
  });
});
