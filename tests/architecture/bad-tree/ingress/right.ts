import type { Left } from "./left.ts";

export interface Right {
  left?: Left;
}
