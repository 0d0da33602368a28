/** Fuzzing every API route's input (issue 17, point 2): targets/api.ts in its short mode. */
import { describe } from "vitest";
import { shortRun } from "./short.ts";
import { api } from "./targets/api.ts";

describe("API routes (property)", () => shortRun(api, 8080));
