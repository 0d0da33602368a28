/**
 * The house rules of the folders (README "Layout", .dependency-cruiser.cjs) checked with
 * dependency-cruiser: shared/ imports nothing above it, actors/ nothing above them, ingress/ and
 * edge-api/ not each other, no import cycles (type-only imports included). The second case runs
 * the same rules over a small tree with one bad import and one cycle, so the check can fail.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const CONFIG = resolve(ROOT, ".dependency-cruiser.cjs");
const BIN = resolve(ROOT, "node_modules/.bin/depcruise");

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function cruise(cwd: string, paths: string[]): Promise<{ violations: Violation[]; modules: number }> {
  const { stdout } = await run(BIN, ["--config", CONFIG, "--output-type", "json", ...paths], {
    cwd,
    maxBuffer: 1 << 26,
  }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
  const out = JSON.parse(stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  return { violations: out.summary.violations, modules: out.summary.totalCruised };
}

describe("architecture", () => {
  it("the product's imports follow the floors and hold no cycle", async () => {
    const r = await cruise(ROOT, [
      "main.ts",
      "main.deno.ts",
      "relay.ts",
      "relay-app.ts",
      "relay-assets.ts",
      "shared",
      "actors",
      "ingress",
      "edge-api",
      "bin",
    ]);
    expect(r.modules).toBeGreaterThan(150);
    expect(r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  }, 120_000);

  it("fails on a ground-floor file importing an upper folder and on a type-only cycle", async () => {
    const r = await cruise(resolve(import.meta.dirname, "bad-tree"), ["shared", "actors", "ingress"]);
    const found = r.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(found).toEqual([
      "no-circular: ingress/left.ts → ingress/right.ts",
      "shared-is-the-ground: shared/ground.ts → actors/upper.ts",
    ]);
  }, 120_000);
});
