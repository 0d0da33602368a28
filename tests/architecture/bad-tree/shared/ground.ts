// A deliberately bad import for tests/architecture/layers.test.ts: the ground floor reaching up.
import type { Upper } from "../actors/upper.ts";

export const ground = (u: Upper): string => u.name;
