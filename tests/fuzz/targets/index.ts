/** Every fuzz target, for the long runs (run.ts); each also has its short run in tests/fuzz/*.test.ts. */
import type { FuzzTarget } from "../target.ts";
import { api } from "./api.ts";
import { dsn } from "./dsn.ts";
import { isolation } from "./isolation.ts";
import { mime } from "./mime.ts";
import { smtp } from "./smtp.ts";
import { verp } from "./verp.ts";

export const TARGETS: FuzzTarget[] = [dsn, verp, mime, smtp, api, isolation];
