/**
 * `npm run bench:data-feed`: CPU per message through smtp-server's DATA parser (its SMTPStream in
 * data mode, into a sink that only counts), with smtp-server's own `_feedDataStream` and with
 * ingress/data-feed.ts's fast path. 5 KiB and 100 KiB text messages, cut into 16 KiB chunks as TLS
 * records arrive, no dot at a line start (the common case; every dot goes through smtp-server's
 * own code either way). Alternating rounds in one process, medians of BENCH_RUNS (default 5), this
 * process's CPU (`process.cpuUsage`). The bytes out are checked against the bytes in.
 */
import { Writable } from "node:stream";
import { SMTPStream } from "smtp-server/lib/smtp-stream.js";
import { fastFeed, originalFeed } from "../../ingress/data-feed.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
type Feed = ReturnType<typeof fastFeed>;

function message(kib: number): Buffer {
  const line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
  return Buffer.from(line.repeat(Math.ceil((kib * 1024) / line.length)));
}

function chunks(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += 16 * 1024) out.push(body.subarray(at, at + 16 * 1024));
  out.push(Buffer.from(".\r\n"));
  return out;
}

/** One parser per variant, reused message after message as smtp-server reuses a connection's. */
function parser(feed: Feed) {
  const s = new SMTPStream() as SMTPStream & { _feedDataStream: Feed };
  s._feedDataStream = feed;
  s.oncommand = (_cmd: Buffer, cb?: () => void) => cb?.();
  return async (parts: Buffer[]): Promise<number> => {
    const data = s.startDataMode(Number.POSITIVE_INFINITY);
    let bytes = 0;
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        bytes += c.length;
        cb();
      },
    });
    data.pipe(sink);
    await new Promise<void>((resolve) => {
      sink.on("finish", () => resolve());
      s.continue();
      for (const p of parts) s.write(p);
    });
    return bytes;
  };
}

async function cpuPer(n: number, one: () => Promise<unknown>): Promise<number> {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) await one();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / n;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
const variants: [string, Feed][] = [
  ["smtp-server's _feedDataStream", originalFeed],
  ["data-feed.ts fast path", fastFeed()],
];

console.log(`| message | parser | CPU µs per message, median of ${RUNS} | runs |`);
console.log("| --- | --- | ---: | --- |");
for (const kib of [5, 100]) {
  const body = message(kib);
  const parts = chunks(body);
  const n = kib > 20 ? 1500 : 5000;
  const feeds = variants.map(([name, feed]) => [name, parser(feed)] as const);
  for (const [name, feed] of feeds) {
    const got = await feed(parts);
    if (got !== body.length) throw new Error(`${name}: ${got} bytes out of ${body.length}`);
    await cpuPer(300, () => feed(parts)); // warm-up
  }
  const runs = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (let r = 0; r < RUNS; r++)
    for (const [name, feed] of feeds) runs.get(name)?.push(Math.round(await cpuPer(n, () => feed(parts))));
  for (const [name, rs] of runs) console.log(`| ${kib} KiB | ${name} | ${median(rs)} | ${rs.join(" / ")} |`);
}
