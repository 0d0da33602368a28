/**
 * Free loopback TCP ports for test daemons, handed to another process (a relay, a broker, a DNS
 * server) that binds them a second or so later.
 *
 * - `freePorts(n)` holds all n listeners open until every port is known, so the ports are
 *   distinct: picking them one by one (listen(0), close, repeat) can hand out the same port twice —
 *   a CI run started the relay with its submission and SMTPS listeners on one port (EADDRINUSE).
 * - The ports come from below the kernel's ephemeral range (`ip_local_port_range`), where no
 *   outgoing connection is ever given one: a port that listen(0) picked is in that range, and a CI
 *   run lost one to another test process's outgoing connection before the relay bound it. Picked
 *   at random and tried by binding; ports this process handed out already are not handed out again.
 *   Where the range leaves no room below it, listen(0) as before (and `withFreshPorts` for retries).
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

/** The lowest port the pick uses: above the registered ports most daemons use by default. */
const LOW = 10_000;
const given = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux), or undefined where it cannot be read. */
function readEphemeralLow(): number | undefined {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Read once: the range does not change while the tests run. */
const ephemeralLow = readEphemeralLow();

function listenOn(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", (e: NodeJS.ErrnoException) =>
      port !== 0 && (e.code === "EADDRINUSE" || e.code === "EACCES") ? resolve(undefined) : reject(e),
    );
    srv.listen(port, host, () => resolve(srv));
  });
}

/** One listener on a port below the ephemeral range not handed out before, else on listen(0). */
async function listenFresh(host: string, high: number | undefined): Promise<Server> {
  if (high !== undefined && high - LOW >= 1_000) {
    for (let i = 0; i < 100; i++) {
      const port = LOW + Math.floor(Math.random() * (high - LOW));
      if (given.has(port)) continue;
      const srv = await listenOn(port, host);
      if (srv) return srv;
    }
  }
  return (await listenOn(0, host)) as Server;
}

export async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await listenFresh(host, ephemeralLow));
    const ports = servers.map((s) => {
      const addr = s.address();
      if (typeof addr !== "object" || !addr) throw new Error("no port");
      return addr.port;
    });
    for (const p of ports) given.add(p);
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await freePorts(1, host);
  return port as number;
}

/** A daemon exited at start because a port picked free was taken by then. */
export class PortTakenError extends Error {
  override readonly name = "PortTakenError";
}

/**
 * A port picked free can be taken before the daemon binds it, a second or so later (another test
 * process's outgoing connection gets it as its ephemeral port: a CI run's dashboard suite failed
 * so, EADDRINUSE). `start` throws PortTakenError then, and runs again with fresh ports, three
 * times at most.
 */
export async function withFreshPorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= 3 || !(e instanceof PortTakenError)) throw e;
    }
  }
}
