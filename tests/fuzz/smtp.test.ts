/** Fuzzing the SMTP session over real sockets (issue 17, point 2): targets/smtp.ts in its short mode. */
import { describe } from "vitest";
import { shortRun } from "./short.ts";
import { smtp } from "./targets/smtp.ts";

describe("SMTP session (property)", () => shortRun(smtp, 587));
