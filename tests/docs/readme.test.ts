/** The README keeps its configuration table and flow table true (STYLE: "keep it true"). */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { configKeys } from "../../shared/config/schema.ts";

const root = resolve(import.meta.dirname, "../..");
const readme = readFileSync(resolve(root, "README.md"), "utf8");

describe("README", () => {
  it.each(Object.entries(configKeys))("documents config key %s", (name, spec) => {
    expect(readme).toContain(`\`${spec.env}\``);
    expect(readme).toContain(`\`${name}\``);
  });

  it("names only files that exist in the flow table", () => {
    const table = readme.slice(readme.indexOf("## Where each step"), readme.indexOf("## Configuration"));
    const paths = [
      ...table.matchAll(
        /`((?:ingress|actors|edge-api|shared|tests|bin|docs)\/[^`\s]*|main(?:\.deno)?\.ts|relay(?:-app|-assets)?\.ts)`/g,
      ),
    ].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(20);
    for (const p of paths) expect(existsSync(resolve(root, p)), p).toBe(true);
  });
});
