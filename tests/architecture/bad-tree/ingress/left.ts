// A deliberate type-only cycle (left ↔ right) for tests/architecture/layers.test.ts.
import type { Right } from "./right.ts";

export interface Left {
  right?: Right;
}
