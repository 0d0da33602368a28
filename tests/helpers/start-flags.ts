/**
 * The Node flags `npm start` runs the relay with, read from a checkout's package.json (its
 * `scripts.start`: the flags between `node` and `--import`). The benches and the cluster nodes
 * spawn the relay with these, so they measure and test it as `npm start` runs it; package.json
 * stays the one place that names them. A checkout from before the flags existed gives none.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export function startNodeFlags(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    scripts?: { start?: string };
  };
  const words = (pkg.scripts?.start ?? "").split(/\s+/).filter(Boolean);
  const node = words.indexOf("node");
  if (node < 0) throw new Error(`package.json scripts.start does not run node: ${pkg.scripts?.start}`);
  const flags: string[] = [];
  for (const w of words.slice(node + 1)) {
    if (w === "--import" || !w.startsWith("--")) break;
    flags.push(w);
  }
  return flags;
}
