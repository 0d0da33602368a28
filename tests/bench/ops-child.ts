/**
 * The relay side of `bench:slow-clients` (issue 17 point 4): a whole relay (tests/ops/stack.ts:
 * Knot DNS, an smtp-server peer, every job) in its own process, so that its memory and file
 * descriptors are measured apart from the 2,000 client sockets. PETREL_* variables in the
 * environment override the stack's settings (limits). Prints `READY <json>`; SIGTERM stops it.
 */
import { startStack } from "../ops/stack.ts";

const env = Object.fromEntries(
  Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith("PETREL_") && !!e[1]),
);
const s = await startStack({ env });
process.stdout.write(
  `READY ${JSON.stringify({ port: s.relay.ingress.ports.submission, user: s.user.username, pass: s.user.password })}\n`,
);
process.once("SIGTERM", () => {
  void s.stop().finally(() => process.exit(0));
});
