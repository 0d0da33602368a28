/**
 * MX resolution per RFC 5321 §5.1 (D1): MX records in preference order (equal preferences
 * shuffled), the domain itself (A/AAAA) when there is no MX, a null MX (RFC 7505, `0 .`) is a
 * permanent failure. Answers are cached by their TTL. The resolver is always the configured one
 * (`PETREL_DNS_SERVERS`, shared/domains/verify.ts createResolver).
 */
import type { Resolver } from "node:dns/promises";

export interface MxHost {
  exchange: string;
  priority: number;
}

export type MxAnswer =
  | { ok: true; hosts: MxHost[] }
  | { ok: false; kind: "null_mx" | "nxdomain" | "no_mail_host" | "temporary"; detail: string };

type Lookup = Pick<Resolver, "resolveMx" | "resolve4" | "resolve6">;

/** A then AAAA addresses of a host with the smallest TTL; rejects like node:dns when neither exists. */
export async function addressesOf(r: Lookup, host: string): Promise<{ ips: string[]; ttlMs: number }> {
  const [a, aaaa] = await Promise.allSettled([
    r.resolve4(host, { ttl: true }),
    r.resolve6(host, { ttl: true }),
  ]);
  const all = [
    ...(a.status === "fulfilled" ? a.value : []),
    ...(aaaa.status === "fulfilled" ? aaaa.value : []),
  ];
  if (all.length === 0) throw a.status === "rejected" ? a.reason : new Error(`${host}: no address`);
  return { ips: all.map((x) => x.address), ttlMs: Math.max(1, Math.min(...all.map((x) => x.ttl))) * 1000 };
}

/** Errors that say "no such name / no such record" (a verdict, not a failure to ask). */
const NOT_FOUND = new Set(["ENOTFOUND", "ENODATA"]);

/** Orders MX records by preference; `rand` shuffles ties (injected for tests). */
export function orderMx(records: { exchange: string; priority: number }[], rand = Math.random): MxHost[] {
  return records
    .map((r) => ({ r, k: rand() }))
    .sort((a, b) => a.r.priority - b.r.priority || a.k - b.k)
    .map(({ r }) => ({ exchange: r.exchange.replace(/\.$/, "").toLowerCase(), priority: r.priority }));
}

export class MxResolver {
  private readonly cache = new Map<string, { answer: MxAnswer; until: number }>();

  constructor(
    private readonly resolver: Lookup,
    private readonly now: () => number = Date.now,
    /** TTL of negative and temporary answers. */
    private readonly negativeTtlMs = 60_000,
  ) {}

  async resolve(domain: string): Promise<MxAnswer> {
    const d = domain.toLowerCase().replace(/\.$/, "");
    const hit = this.cache.get(d);
    if (hit && hit.until > this.now()) return hit.answer;
    const { answer, ttlMs } = await this.lookup(d);
    this.cache.set(d, { answer, until: this.now() + ttlMs });
    return answer;
  }

  private async lookup(d: string): Promise<{ answer: MxAnswer; ttlMs: number }> {
    let records: { exchange: string; priority: number }[];
    try {
      records = await this.resolver.resolveMx(d);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (!NOT_FOUND.has(code)) return this.temporary(`MX ${d}: ${code || String(e)}`);
      records = [];
      if (code === "ENOTFOUND")
        return {
          answer: { ok: false, kind: "nxdomain", detail: `${d}: NXDOMAIN` },
          ttlMs: this.negativeTtlMs,
        };
    }
    if (records.length === 1 && (records[0]?.exchange === "" || records[0]?.exchange === ".")) {
      return {
        answer: { ok: false, kind: "null_mx", detail: `${d} does not accept mail (null MX, RFC 7505)` },
        ttlMs: this.negativeTtlMs,
      };
    }
    if (records.length > 0) {
      // node:dns does not give MX TTLs; the A lookup of the best host bounds the cache time.
      const ttl = await this.ttlOf(records[0]?.exchange ?? d);
      return { answer: { ok: true, hosts: orderMx(records) }, ttlMs: ttl };
    }
    // §5.1: no MX → the domain itself is the implicit MX (A/AAAA).
    try {
      const { ttlMs } = await addressesOf(this.resolver, d);
      return { answer: { ok: true, hosts: [{ exchange: d, priority: 0 }] }, ttlMs };
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (NOT_FOUND.has(code))
        return {
          answer: {
            ok: false,
            kind: code === "ENOTFOUND" ? "nxdomain" : "no_mail_host",
            detail: `${d}: no MX and no address`,
          },
          ttlMs: this.negativeTtlMs,
        };
      return this.temporary(`A/AAAA ${d}: ${code || String(e)}`);
    }
  }

  private async ttlOf(host: string): Promise<number> {
    try {
      return (await addressesOf(this.resolver, host)).ttlMs;
    } catch {
      return this.negativeTtlMs;
    }
  }

  private temporary(detail: string): { answer: MxAnswer; ttlMs: number } {
    return { answer: { ok: false, kind: "temporary", detail }, ttlMs: Math.min(this.negativeTtlMs, 5_000) };
  }
}
