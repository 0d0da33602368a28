/**
 * Free loopback TCP ports for test daemons. `freePorts(n)` holds all n listeners open until every
 * port is known, so the ports are distinct: picking them one by one (listen(0), close, repeat)
 * can hand out the same port twice — a CI run started the relay with its submission and SMTPS
 * listeners on one port and failed with EADDRINUSE.
 */
import { createServer, type Server } from "node:net";

function listenAny(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => resolve(srv));
  });
}

export async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await listenAny(host));
    return servers.map((s) => {
      const addr = s.address();
      if (typeof addr !== "object" || !addr) throw new Error("no port");
      return addr.port;
    });
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
