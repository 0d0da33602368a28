/**
 * A new sending domain (C4): normalised name, a fresh id, two DKIM key pairs (selectors
 * `petrel1`, `petrel2`; the first signs), the three CNAME records pending, and the return-path
 * host. Slow and random, so it runs outside the account actor; the result travels in the
 * actor's `addDomain` message.
 */
import { randomBytes } from "node:crypto";
import type { SendingDomain } from "../model/account/protocol.ts";
import { type DkimAlgorithm, generateDkimKey } from "./dkim.ts";
import {
  assertLabel,
  customerRecords,
  DEFAULT_SELECTORS,
  normalizeCustomerDomain,
  normalizeProviderDomain,
  returnPathHost,
} from "./records.ts";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** 16 characters of lower-case base32 (80 random bits): one DNS label in the provider zone. */
export function newDomainId(): string {
  const bytes = randomBytes(10);
  let bits = 0;
  let acc = 0;
  let out = "";
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >> bits) & 31];
    }
  }
  return out;
}

export interface BuildDomainInput {
  /** As the customer typed it; normalised here (throws DomainNameError). */
  domain: string;
  /** `PETREL_PROVIDER_DOMAIN`. */
  provider: string;
  now: number;
  algorithm?: DkimAlgorithm;
  /** Chosen by the caller (tests, imports); generated when absent. */
  id?: string;
}

export async function buildSendingDomain(o: BuildDomainInput): Promise<SendingDomain> {
  const provider = normalizeProviderDomain(o.provider);
  const domain = normalizeCustomerDomain(o.domain, provider);
  const id = o.id ?? newDomainId();
  assertLabel("domain id", id);
  const selectors = DEFAULT_SELECTORS;
  const [k1, k2] = await Promise.all(selectors.map((s) => generateDkimKey(s, o.algorithm)));
  return {
    id,
    domain,
    addedAt: o.now,
    status: "pending",
    trusted: false,
    records: customerRecords({ domain, domainId: id, selectors, provider }).map((r) => ({
      ...r,
      status: "pending",
    })),
    dkim: [k1!, k2!],
    activeSelector: selectors[0],
    returnPathHost: returnPathHost(domain),
  };
}
