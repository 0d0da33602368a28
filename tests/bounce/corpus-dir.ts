/**
 * Where the shared bounce corpus is read from: `../shared/bounce-corpus` beside the checkout (the
 * product's source, SPEC.md) when it is there, else the copy in `tests/bounce/shared-corpus/`, so a
 * clone on its own runs the same suites. tests/bounce/corpus-copy.test.ts fails when the copy and
 * the source differ.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const SOURCE_CORPUS_DIR = resolve(import.meta.dirname, "../../../shared/bounce-corpus");
export const COPY_CORPUS_DIR = resolve(import.meta.dirname, "shared-corpus");

export const CORPUS_DIR = existsSync(SOURCE_CORPUS_DIR) ? SOURCE_CORPUS_DIR : COPY_CORPUS_DIR;
