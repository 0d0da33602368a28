/**
 * DNS verification of a sending domain (C4): each of the customer's three CNAME records is
 * looked up through the configured resolvers (`PETREL_DNS_SERVERS`) and reported as
 *  - `verified`: the name is a CNAME to the expected target;
 *  - `missing`:  the name does not exist (NXDOMAIN) or has no CNAME (NODATA), with the code;
 *  - `wrong`:    the name is a CNAME to something else, with what it points to;
 *  - `pending`:  no verdict — the resolvers failed (timeout, SERVFAIL, refused...), with the code.
 * A check with any `pending` record is inconclusive: callers do not let it change a domain's
 * standing (a resolver outage must not take sending away from verified domains).
 */
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import type { DomainRecordState } from "../model/account/protocol.ts";

/** The one lookup verification needs; node:dns's `Resolver` has it. */
export interface CnameResolver {
  resolveCname(name: string): Promise<string[]>;
}

export interface ResolverOptions {
  /** `PETREL_DNS_SERVERS`: IP addresses, `host:port` and `[v6]:port` allowed; empty = system. */
  servers: readonly string[];
  /** Per-try timeout (c-ares doubles it on each retry). */
  timeoutMs?: number;
  tries?: number;
}

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_TRIES = 2;

/** The IP part of one `PETREL_DNS_SERVERS` entry, or undefined when it is not an address. */
function serverAddress(entry: string): string | undefined {
  const v6 = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry);
  if (v6) return isIP(v6[1] ?? "") === 6 ? (v6[1] ?? "") : undefined;
  if (isIP(entry) !== 0) return entry;
  const v4 = /^([^:]+):\d{1,5}$/.exec(entry);
  return v4 && isIP(v4[1] ?? "") === 4 ? v4[1] : undefined;
}

/**
 * A resolver that asks only the given servers (never the system's when any is configured).
 * Server entries must be IP addresses: a resolver cannot look up its own name.
 */
export function createResolver(o: ResolverOptions): Resolver {
  const resolver = new Resolver({
    timeout: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    tries: o.tries ?? DEFAULT_TRIES,
  });
  if (o.servers.length === 0) return resolver;
  for (const s of o.servers) {
    if (!serverAddress(s))
      throw new Error(
        `invalid DNS server ${JSON.stringify(s)}: expected an IP address, optionally with :port`,
      );
  }
  resolver.setServers([...o.servers]);
  return resolver;
}

/** Answers that mean "the record is not there" (a verdict), as opposed to "could not ask". */
const ABSENT: Record<string, string> = { ENOTFOUND: "NXDOMAIN", ENODATA: "NODATA" };

/** What a node:dns error code says about a record: absent, or no verdict. */
export function classifyDnsError(code: string | undefined): "missing" | "transient" {
  return code !== undefined && code in ABSENT ? "missing" : "transient";
}

/** Names compare case-insensitively and without the final dot. */
export const sameName = (a: string, b: string): boolean =>
  a.replace(/\.$/, "").toLowerCase() === b.replace(/\.$/, "").toLowerCase();

type RecordSpec = Pick<DomainRecordState, "kind" | "name" | "type" | "value">;

/** Checks one record. */
export async function checkRecord(
  resolver: CnameResolver,
  r: RecordSpec,
  at: number,
): Promise<DomainRecordState> {
  const base = { kind: r.kind, name: r.name, type: r.type, value: r.value, checkedAt: at };
  let targets: string[];
  try {
    targets = await resolver.resolveCname(r.name);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (classifyDnsError(code) === "missing") {
      const why = code === "ENOTFOUND" ? `${r.name} does not exist` : `${r.name} has no CNAME record`;
      return { ...base, status: "missing", detail: `${ABSENT[code!]} (${code}): ${why}` };
    }
    const msg = e instanceof Error ? e.message : String(e);
    return { ...base, status: "pending", detail: `not checked: DNS error ${code ?? "unknown"} (${msg})` };
  }
  if (targets.some((t) => sameName(t, r.value)))
    return { ...base, status: "verified", detail: `CNAME ${r.value}` };
  if (targets.length === 0)
    return { ...base, status: "missing", detail: `NODATA: ${r.name} has no CNAME record` };
  return { ...base, status: "wrong", detail: `CNAME points to ${targets.join(", ")} instead of ${r.value}` };
}

/** Checks every record (in parallel), in the order given. */
export function verifyRecords(
  resolver: CnameResolver,
  records: readonly RecordSpec[],
  at: number,
): Promise<DomainRecordState[]> {
  return Promise.all(records.map((r) => checkRecord(resolver, r, at)));
}

/** A check reached a verdict on every record (none is `pending`). */
export const isConclusive = (records: readonly DomainRecordState[]): boolean =>
  records.every((r) => r.status !== "pending");
