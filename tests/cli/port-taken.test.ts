/**
 * Test daemons pick free ports, and a port can be taken before the daemon binds it (CI saw the
 * dashboard suite's relay exit with EADDRINUSE). The harness recognizes that exit and starts again
 * on fresh ports (tests/helpers/ports.ts withFreshPorts), and gives up after three tries.
 * Fails if a relay that cannot bind is not reported as PortTakenError, or if other errors retry.
 * The ports themselves come from below the kernel's ephemeral range, where no outgoing connection
 * can take one: fails if a pick lands in that range, repeats a port, or hands out one in use.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { freePorts, PortTakenError, withFreshPorts } from "../helpers/ports.ts";
import { startRelayProcess } from "./relay.ts";

describe("starting a test daemon when its port is taken", () => {
  const held: Server[] = [];
  afterAll(async () => {
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  it("tries again with fresh ports after a PortTakenError, three times at most; other errors at once", async () => {
    let calls = 0;
    await expect(
      withFreshPorts(async () => {
        if (++calls < 2) throw new PortTakenError("taken");
        return "started";
      }),
    ).resolves.toBe("started");
    expect(calls).toBe(2);

    calls = 0;
    await expect(
      withFreshPorts(async () => {
        calls++;
        throw new PortTakenError("always taken");
      }),
    ).rejects.toBeInstanceOf(PortTakenError);
    expect(calls).toBe(3);

    calls = 0;
    await expect(
      withFreshPorts(async () => {
        calls++;
        throw new Error("something else");
      }),
    ).rejects.toThrow("something else");
    expect(calls).toBe(1);
  });

  it("free ports are distinct, never handed out twice, bindable, and below the ephemeral range", async () => {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    const first = await freePorts(10);
    const second = await freePorts(10);
    const all = [...first, ...second];
    expect(new Set(all).size).toBe(20);
    for (const p of all) {
      expect(p).toBeGreaterThanOrEqual(10_000);
      expect(p).toBeLessThan(low);
    }
    // Each can be bound right away (none is in use), and one bound here is not picked again.
    const srv = createServer();
    held.push(srv);
    await new Promise<void>((r) => srv.listen(first[0], "127.0.0.1", () => r()));
    for (let i = 0; i < 5; i++) expect(await freePorts(4)).not.toContain(first[0]);
  });

  it("a relay whose port is held exits with EADDRINUSE, seen as PortTakenError", async () => {
    const srv = createServer();
    held.push(srv);
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const port = (srv.address() as { port: number }).port;
    // The port is fixed here, so every try meets it taken.
    const err = await startRelayProcess({ PETREL_SUBMISSION_PORT: String(port) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortTakenError);
    expect(String((err as Error).message)).toMatch(/EADDRINUSE/);
  });
});
