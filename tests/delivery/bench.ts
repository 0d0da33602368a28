/**
 * Delivery throughput (issue 5 "Measure", delivery half): recipient records handed to the domain
 * actor → delivered to a discarding smtp-server sink on loopback, DKIM on and off; delivered/s,
 * p50/p99 record-to-Delivered latency, CPU seconds per 1,000 messages. Real bus, actors, Knot DNS.
 * Not the full figure (submission over STARTTLS+AUTH through ingress is issue 4's side).
 *   npx tsx tests/delivery/bench.ts [messages=2000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { startDnsServer } from "../dns/server.ts";
import { sendingDomain, startDelivery } from "./harness.ts";

const N = Number(process.argv[2] ?? 2000);
const BODY = "x".repeat(76).concat("\r\n").repeat(66); // ~5 KiB

async function run(dkim: boolean, dnsAddress: string, port: number) {
  const dir = mkdtempSync(join(tmpdir(), "petrel-bench-"));
  const sent = new Map<string, number>();
  const lat: number[] = [];
  let done = 0;
  let resolveAll: () => void = () => {};
  const all = new Promise<void>((r) => (resolveAll = r));
  const node = await startDelivery({
    dir,
    dnsServer: dnsAddress,
    smtpPort: port,
    domain: sendingDomain(),
    dkim,
    idleMs: 5_000,
    domainOptions: { concurrency: 20 },
    onEvent: (e) => {
      if (e.status !== "Delivered") return;
      lat.push(performance.now() - (sent.get(e.recipientId) ?? 0));
      if (++done === N) resolveAll();
    },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const subs: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    subs.push(node.submit(`user${i}@sink.test`).then((r) => sent.set(r.recipientId, performance.now())));
    if (subs.length >= 50) await Promise.all(subs.splice(0));
  }
  await Promise.all(subs);
  await all;
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
  void BODY;
  return {
    dkim,
    messages: N,
    perSecond: Math.round(N / secs),
    p50ms: Math.round(lat[Math.floor(lat.length * 0.5)] ?? 0),
    p99ms: Math.round(lat[Math.floor(lat.length * 0.99)] ?? 0),
    cpuSecondsPer1000: Number((((cpu.user + cpu.system) / 1e6) * (1000 / N)).toFixed(2)),
  };
}

const dns = await startDnsServer({
  zones: [
    {
      origin: "sink.test",
      text: [
        "$ORIGIN sink.test.",
        "$TTL 300",
        "@ IN SOA ns1 hostmaster 1 3600 600 86400 60",
        "@ IN NS ns1",
        "ns1 IN A 127.0.0.1",
        "@ IN MX 10 mx",
        "mx IN A 127.0.0.1",
        "",
      ].join("\n"),
    },
  ],
});
const sink = new SMTPServer({
  authOptional: true,
  disabledCommands: ["AUTH"],
  logger: false,
  onData(stream, _s, cb) {
    stream.resume();
    stream.on("end", () => cb());
  },
});
await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
const port = (sink.server.address() as { port: number }).port;
try {
  for (const dkim of [false, true]) console.log(JSON.stringify(await run(dkim, dns.address, port)));
} finally {
  await new Promise<void>((r) => sink.close(() => r()));
  await dns.stop();
}
