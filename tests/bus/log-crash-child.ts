/**
 * Child process of tests/bus/log-crash.test.ts: `node --import tsx log-crash-child.ts <dir> <run>`.
 * Opens a LogBus on <dir> (recovering whatever the previous, killed run left), prints `ready`,
 * then publishes forever from several concurrent publishers, with fsync. After each publish
 * RESOLVED it prints one line per record: `ok <partition> <offset> <id>`. The parent kills it
 * with SIGKILL at a random moment and checks that every `ok` record survived.
 */
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { LogBus } from "../../shared/bus/log/log-bus.ts";

export const CRASH_TOPIC = "crash";
export const CRASH_PARTITIONS = 3;
export const CRASH_SEGMENT_BYTES = 64 * 1024;
const PUBLISHERS = 8;

/** The payload of record `id`: deterministic, 40..1240 bytes, starting with the id. */
export function payloadFor(id: string): Uint8Array {
  const digest = createHash("sha256").update(id).digest();
  const length = 40 + (digest.readUInt16LE(0) % 1200);
  const out = Buffer.alloc(length);
  const head = Buffer.from(`${id}|`);
  head.copy(out);
  for (let i = head.length; i < length; i++) out[i] = digest[i % digest.length]!;
  return new Uint8Array(out);
}

/** Key of publisher `w` of run `run`: one key per publisher, so its records keep their order. */
export const keyFor = (run: string, w: number) => `run${run}-w${w}`;

async function main(dir: string, run: string): Promise<void> {
  const bus = await LogBus.open({ dir, segmentBytes: CRASH_SEGMENT_BYTES, maintenanceIntervalMs: 0 });
  await bus.ensureTopics([{ name: CRASH_TOPIC, partitions: CRASH_PARTITIONS }]);
  process.stdout.write("ready\n");
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async (_, w) => {
      const key = keyFor(run, w);
      for (let seq = 0; ; seq++) {
        // 1 to 3 records per call, so batches of several records are torn by the kill too.
        const ids = Array.from({ length: 1 + (seq % 3) }, (_, j) => `${key}-${seq}-${j}`);
        const results = await bus.publish(
          CRASH_TOPIC,
          ids.map((id) => ({ key, value: payloadFor(id), headers: { id } })),
        );
        // Synchronous on a pipe: once written, the line reaches the parent even if we die next.
        process.stdout.write(results.map((r, j) => `ok ${r.partition} ${r.offset} ${ids[j]}\n`).join(""));
      }
    }),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [dir, run] = process.argv.slice(2);
  if (!dir || run === undefined) throw new Error("usage: log-crash-child.ts <dir> <run>");
  await main(dir, run);
}
