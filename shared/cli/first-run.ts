/**
 * The one human-readable line the relay prints on stderr once it is ready (O1): where the
 * dashboard is and, while no account exists, the `petrel init` command that creates the first
 * account and its administrator. The rest of the log is JSON (pino); this line is for the person
 * who just ran `npm start`. Pure: main.ts and main.deno.ts print it.
 */

export interface ReadyLineInput {
  /** Bind address (PETREL_HOST). */
  host: string;
  /** The port the HTTP server listens on. */
  port: number;
  /** PETREL_DATA_DIR as configured: the CLI reads the operator token there. */
  dataDir: string;
  /** Whether PETREL_ADMIN_TOKEN is set (then the CLI needs it, not the data dir). */
  adminTokenSet: boolean;
  accounts: number;
}

const DEFAULT_API = "http://127.0.0.1:8080";
const DEFAULT_DATA_DIR = "./data";

/** The address a browser or the CLI on this machine reaches: loopback for a wildcard bind. */
export function dashboardBase(host: string, port: number): string {
  const h = host === "" || host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host;
  return `http://${h.includes(":") && !h.startsWith("[") ? `[${h}]` : h}:${port}`;
}

const shellWord = (w: string) => (/^[\w./:@%+=,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

/** `Petrel is ready. Dashboard: http://…/ — …`, ending with a newline. */
export function readyLine(o: ReadyLineInput): string {
  const api = dashboardBase(o.host, o.port);
  const head = `Petrel is ready. Dashboard: ${api}/`;
  if (o.accounts > 0) return `${head}\n`;
  const env =
    !o.adminTokenSet && o.dataDir !== DEFAULT_DATA_DIR ? `PETREL_DATA_DIR=${shellWord(o.dataDir)} ` : "";
  const apiOption = api === DEFAULT_API ? "" : ` --api ${api}`;
  return `${head} — first account and administrator: ${env}npx petrel init --email you@example.com${apiOption}\n`;
}
