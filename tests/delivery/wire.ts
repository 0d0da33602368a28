/**
 * A recording TCP relay between Petrel's delivery workers and a real Postfix (plain SMTP, no
 * STARTTLS, so the session can be read): what each side wrote, in the order it arrived, as
 * "flights" — the bytes one side sent before the other answered. Without PIPELINING a client
 * cannot send RCPT TO before the reply to MAIL FROM, so MAIL and RCPT fall in different client
 * flights; with it (RFC 2920) they go out together.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface Flight {
  from: "client" | "server";
  text: string;
}

export interface Wire {
  port: number;
  /** Every connection's flights, in connection order. */
  sessions(): Flight[][];
  close(): Promise<void>;
}

export async function startWire(targetPort: number): Promise<Wire> {
  const sessions: Flight[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const flights: Flight[] = [];
    sessions.push(flights);
    const record = (from: Flight["from"], chunk: Buffer) => {
      const last = flights[flights.length - 1];
      if (last?.from === from) last.text += chunk.toString("utf8");
      else flights.push({ from, text: chunk.toString("utf8") });
    };
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (c: Buffer) => {
      record("client", c);
      upstream.write(c);
    });
    upstream.on("data", (c: Buffer) => {
      record("server", c);
      client.write(c);
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("wire: no port");
  return {
    port: address.port,
    sessions: () => sessions.map((f) => f.map((x) => ({ ...x }))),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The client flights of all sessions that mention `needle`. */
export function clientFlights(wire: Wire, needle: string): string[] {
  return wire
    .sessions()
    .filter((s) => s.some((f) => f.text.includes(needle)))
    .flatMap((s) => s.filter((f) => f.from === "client").map((f) => f.text));
}
