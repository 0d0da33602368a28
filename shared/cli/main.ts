/** Entry of the `petrel` bin (bin/petrel.js loads it through tsx): runs one command and exits. */
import { runCli } from "./run.ts";

const code = await runCli(process.argv.slice(2), process.env, {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  fetch: globalThis.fetch,
});
process.exitCode = code;
