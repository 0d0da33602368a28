/** Loads the server secrets of argv[2] and prints them: several of these race on a fresh dir. */
import { loadServerSecrets } from "../../shared/security/secrets.ts";

const s = loadServerSecrets(process.argv[2] as string);
process.stdout.write(
  `${JSON.stringify({ adminToken: s.adminToken, hmacKey: Buffer.from(s.hmacKey).toString("hex"), generated: s.generated })}\n`,
);
