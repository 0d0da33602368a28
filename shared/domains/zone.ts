/**
 * The provider zone (C4): what the customers' CNAMEs lead to, as an RFC 1035 master file the
 * operator loads into an authoritative server (`petrel zone export`). For each sending domain:
 *
 *   <sel1>.<id>.dkim  TXT  "v=DKIM1; k=rsa; p=..."     DKIM 1 (D3)
 *   <sel2>.<id>.dkim  TXT  "v=DKIM1; k=rsa; p=..."     DKIM 2
 *   <id>.rp           MX   10 <mx host>.                Return-Path: bounces come back (D4, D7)
 *   <id>.rp           TXT  "v=spf1 <mechanisms> -all"   Return-Path: SPF of the envelope sender
 *
 * Pure and deterministic: domains sorted by name then id, one record per line; the SOA serial
 * is the export time in seconds (RFC 1982 arithmetic stays monotonic until 2106).
 * The operator's own records (A/AAAA of the MX and name servers) are not part of it.
 */

import type { Config } from "../config/schema.ts";
import type { SendingDomain } from "../model/account/protocol.ts";
import { dkimTxtValue } from "./dkim.ts";
import { dkimTarget, normalizeProviderDomain, returnPathTarget } from "./records.ts";
import { txtRdata } from "./txt.ts";

export interface ZoneSettings {
  /** `PETREL_PROVIDER_DOMAIN`: the zone's origin. */
  provider: string;
  /** MX of the return-path targets; default `mx.<provider>`. */
  mxHost?: string;
  /** SPF mechanisms before `-all`; default `["mx"]` (the relay sends from its bounce MX). */
  spf?: readonly string[];
  /** NS of the zone; default `["ns1.<provider>"]`. The first is the SOA MNAME. */
  nameServers?: readonly string[];
  /** SOA RNAME as a mailbox or a name; default `hostmaster.<provider>`. */
  hostmaster?: string;
  /** Default TTL of every record ($TTL). */
  ttl?: number;
}

export interface ZoneInput extends ZoneSettings {
  domains: readonly SendingDomain[];
  /** Export time, epoch ms: gives the serial unless `serial` is set. */
  now: number;
  serial?: number;
}

/** SOA timers: refresh, retry, expire, negative-caching TTL (RFC 2308). */
export const SOA_TIMERS = [3600, 600, 1_209_600, 300] as const;
export const DEFAULT_TTL = 3600;
export const MX_PREFERENCE = 10;

/** The zone settings the config gives (shared/config/schema.ts). */
export function zoneSettings(
  config: Pick<Config, "providerDomain" | "providerMxHost" | "providerSpf" | "providerNameServers">,
): ZoneSettings {
  return {
    provider: config.providerDomain,
    ...(config.providerMxHost ? { mxHost: config.providerMxHost } : {}),
    spf: config.providerSpf,
    ...(config.providerNameServers.length ? { nameServers: config.providerNameServers } : {}),
  };
}

/** `v=spf1 <mechanisms> -all`: only the listed senders may use the return-path domain. */
export function spfValue(mechanisms: readonly string[]): string {
  for (const m of mechanisms) {
    if (!/^(ip4:|ip6:|include:|a:|mx:|a$|mx$)[^\s]*$/.test(m))
      throw new Error(`invalid SPF mechanism ${JSON.stringify(m)}`);
  }
  return ["v=spf1", ...mechanisms, "-all"].join(" ");
}

/** A name outside the zone's relative names: fully qualified, with the final dot. */
const fqdn = (name: string) => (name.endsWith(".") ? name : `${name}.`);

/** `name` relative to `origin` (`a.b.origin` → `a.b`), for owner names inside the zone. */
function relative(name: string, origin: string): string {
  if (name === origin) return "@";
  if (!name.endsWith(`.${origin}`)) throw new Error(`${name} is outside the zone ${origin}`);
  return name.slice(0, -origin.length - 1);
}

/** The SOA serial for an export at `now` (epoch ms): seconds, as an unsigned 32-bit number. */
export function zoneSerial(now: number): number {
  return Math.floor(now / 1000) % 2 ** 32;
}

export function exportZone(o: ZoneInput): string {
  const origin = normalizeProviderDomain(o.provider);
  const ttl = o.ttl ?? DEFAULT_TTL;
  const ns = (o.nameServers?.length ? o.nameServers : [`ns1.${origin}`]).map(fqdn);
  const mx = fqdn(o.mxHost ?? `mx.${origin}`);
  const spf = spfValue(o.spf ?? ["mx"]);
  const rname = fqdn((o.hostmaster ?? `hostmaster.${origin}`).replace("@", "."));
  const serial = o.serial ?? zoneSerial(o.now);
  const line = (owner: string, type: string, rdata: string) => `${owner}\tIN\t${type}\t${rdata}`;

  const out = [
    `; Petrel provider zone for ${origin}: the targets of the customers' CNAME records (C4).`,
    "; Generated; export it again after domains change. Add A/AAAA records of the MX and NS hosts yourself.",
    `$ORIGIN ${origin}.`,
    `$TTL ${ttl}`,
    line("@", "SOA", `${ns[0]} ${rname} ${serial} ${SOA_TIMERS.join(" ")}`),
    ...ns.map((n) => line("@", "NS", n)),
  ];
  const domains = [...o.domains].sort((a, b) =>
    a.domain === b.domain ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.domain < b.domain ? -1 : 1,
  );
  for (const d of domains) {
    out.push("", `; ${d.domain} (domain ${d.id})`);
    for (const key of d.dkim) {
      out.push(
        line(relative(dkimTarget(key.selector, d.id, origin), origin), "TXT", txtRdata(dkimTxtValue(key))),
      );
    }
    const rp = relative(returnPathTarget(d.id, origin), origin);
    out.push(line(rp, "MX", `${MX_PREFERENCE} ${mx}`), line(rp, "TXT", txtRdata(spf)));
  }
  return `${out.join("\n")}\n`;
}
