/**
 * The ceiling of the SMTP library itself, for the ingress benchmark (`BENCH_PEERS=…,bare`):
 * smtp-server with the same TLS material and options as Petrel's listeners (STARTTLS, TLS 1.2+,
 * AUTH PLAIN/LOGIN after TLS, no reverse DNS) and nothing behind it — AUTH checks one fixed
 * password, every sender and recipient is accepted, DATA is read to its end and thrown away, no
 * disk, no bus, no actor. Not a product: it shows how fast any relay built on smtp-server on this
 * machine could accept mail before doing any of the work S1–S14 ask for.
 * `BENCH_BARE_GREETING=now`: greet at once as Petrel does (ingress/harden.ts greetAfter) instead
 * of after smtp-server's fixed 100 ms pause (peer `bare-now` in the bench).
 * Prints `READY <port>`; SIGTERM stops it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { greetAfter, type RawConnection } from "../../ingress/harden.ts";
import { loadTls } from "../../ingress/tls.ts";

const dataDir = process.env.PETREL_DATA_DIR as string;
const host = process.env.PETREL_HOST ?? "127.0.0.1";
const creds = { username: "bench", password: "bench-password-0123456789" };
writeFileSync(join(dataDir, "creds.json"), JSON.stringify(creds));
const tls = await loadTls({ dataDir, hostname: "bench.invalid" });

const server = new SMTPServer({
  name: "bench.invalid",
  key: tls.key,
  cert: tls.cert,
  minVersion: "TLSv1.2",
  authMethods: ["PLAIN", "LOGIN"],
  allowInsecureAuth: false,
  disableReverseLookup: true,
  hideDSN: true,
  hideREQUIRETLS: true,
  logger: false,
  size: 30 * 1024 * 1024,
  onAuth(auth, _session, cb) {
    if (auth.username === creds.username && auth.password === creds.password)
      cb(null, { user: auth.username });
    else cb(new Error("535 5.7.8 Authentication credentials invalid"));
  },
  onData(stream, _session, cb) {
    stream.on("data", () => undefined);
    stream.once("end", () => cb(null));
  },
});
server.on("error", () => undefined);
if (process.env.BENCH_BARE_GREETING === "now") {
  const connections = (server as unknown as { connections: Set<RawConnection> }).connections;
  const add = connections.add.bind(connections);
  connections.add = (conn: RawConnection) => {
    greetAfter(conn, 0);
    return add(conn);
  };
}
await new Promise<void>((resolve) => server.listen(0, host, resolve));
const port = (server.server.address() as { port: number }).port;
process.stdout.write(`READY ${port}\n`);
process.once("SIGTERM", () => server.close(() => process.exit(0)));
