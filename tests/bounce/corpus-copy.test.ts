/**
 * The copy of the shared bounce corpus in this repository (tests/bounce/corpus-dir.ts) is the
 * corpus of `../shared/bounce-corpus`, file for file and byte for byte, whenever the source is there.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { COPY_CORPUS_DIR, SOURCE_CORPUS_DIR } from "./corpus-dir.ts";

function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.set(relative(dir, path), readFileSync(path));
  }
  return out;
}

describe("the shared bounce corpus copy", () => {
  const source = existsSync(SOURCE_CORPUS_DIR);
  if (!source) console.warn(`SKIP corpus copy check: ${SOURCE_CORPUS_DIR} is not beside this checkout`);

  it.skipIf(!source)("holds exactly the files of ../shared/bounce-corpus", () => {
    const want = files(SOURCE_CORPUS_DIR);
    const got = files(COPY_CORPUS_DIR);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, bytes] of want) expect(got.get(name)?.equals(bytes), name).toBe(true);
  });
});
