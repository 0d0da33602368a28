/**
 * `npm run bench:dkim`: CPU per DKIM signature as the signing thread makes it (dkim-thread.js:
 * parsed keys kept, dkim-canon.js's body hash), through mailauth's dkimSign (its stream) and
 * through dkim-direct.js (its signer driven step by step), against the RSA signature alone.
 * RSA-2048, relaxed/relaxed, the relay's signed-header list; 5 KiB and 100 KiB text bodies.
 * Alternating rounds in one process, medians of BENCH_RUNS (default 5). This process's CPU
 * (`process.cpuUsage`), so the machine's other load does not count, though it still slows it.
 */
import { createPrivateKey, generateKeyPairSync, sign as rsaSign } from "node:crypto";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import { SIGNED_HEADERS } from "../../actors/delivery/dkim.ts";
import { sign as direct } from "../../actors/delivery/dkim-direct.js";
// The signing thread's own module, loaded here for its set-up: dkim-canon.js's body hash and
// parsed keys kept, for both paths measured below.
import "../../actors/delivery/dkim-thread.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const options = () => ({
  canonicalization: "relaxed/relaxed",
  algorithm: "rsa-sha256",
  signTime: new Date(),
  headerList: SIGNED_HEADERS,
  signatureData: [{ signingDomain: "sender.test", selector: "s1", privateKey: pem, algorithm: "rsa-sha256" }],
});

function message(kib: number): Buffer {
  const line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
  const body = line.repeat(Math.ceil((kib * 1024) / line.length));
  return Buffer.from(
    `From: App <app@sender.test>\r\nTo: user@example.test\r\nSubject: Your receipt\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <abc@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`,
  );
}

async function cpuPer(n: number, f: () => unknown): Promise<number> {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) await f();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / n;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
const key = createPrivateKey(pem);
const paths: [string, (m: Buffer) => unknown][] = [
  ["mailauth dkimSign (stream)", (m) => dkimSign(m, options() as unknown as Parameters<typeof dkimSign>[1])],
  ["dkim-direct.js", (m) => direct(m, options())],
  ["RSA signature alone", () => rsaSign("rsa-sha256", Buffer.alloc(400, 120), key)],
];

console.log(`| body | path | CPU µs per signature, median of ${RUNS} | runs |`);
console.log("| --- | --- | ---: | --- |");
for (const kib of [5, 100]) {
  const m = message(kib);
  const n = kib > 20 ? 400 : 1500;
  for (const [, f] of paths) await cpuPer(300, () => f(m)); // warm-up
  const runs = new Map<string, number[]>(paths.map(([name]) => [name, []]));
  for (let r = 0; r < RUNS; r++)
    for (const [name, f] of paths) runs.get(name)?.push(Math.round(await cpuPer(n, () => f(m))));
  for (const [name, v] of runs) console.log(`| ${kib} KiB | ${name} | ${median(v)} | ${v.join(" / ")} |`);
}
