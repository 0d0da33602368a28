/**
 * `npm start` and `deno task start` give V8 the same heap flags (package.json is where they are
 * named; see BENCHMARKS.md "Issue 16, session 14" for what they buy), and the flags are ones this
 * Node accepts.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { startNodeFlags } from "../helpers/start-flags.ts";

const ROOT = resolve(import.meta.dirname, "../..");

describe("start flags", () => {
  it("npm start sets a larger young generation, and deno task start passes the same V8 flags", () => {
    const flags = startNodeFlags(ROOT);
    expect(flags).toContain("--max-semi-space-size=64");
    const deno = JSON.parse(readFileSync(resolve(ROOT, "deno.json"), "utf8")) as {
      tasks: { start: { command: string } };
    };
    expect(deno.tasks.start.command).toContain(`--v8-flags=${flags.join(",")}`);
  });

  it("this Node takes the flags and sizes its young generation by them", () => {
    const script =
      "const v8=require('node:v8');const a=[];for(let i=0;i<4e6;i++){a.push({i});if(a.length>3e5)a.length=0}" +
      "console.log(v8.getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size)";
    const size = (args: string[]) =>
      Number(execFileSync(process.execPath, [...args, "-e", script], { encoding: "utf8" }));
    const withFlags = size(startNodeFlags(ROOT));
    expect(withFlags).toBeGreaterThan(size([]));
    expect(withFlags).toBeLessThanOrEqual(2 * 64 * 1024 * 1024);
  });
});
