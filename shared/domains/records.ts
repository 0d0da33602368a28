/**
 * Sending-domain names (C4): validation of a customer's domain and the three CNAME records the
 * customer creates (seed 003 "SMTP domains and their authentication": DKIM 1, DKIM 2 and
 * Return-Path, which gives MX and SPF). Every record points into the provider's zone
 * (`PETREL_PROVIDER_DOMAIN`), where Petrel publishes what the targets answer (zone.ts), so keys
 * rotate and SPF changes without the customer touching DNS again.
 *
 *   <sel1>._domainkey.<domain>  CNAME  <sel1>.<domainId>.dkim.<provider>   (DKIM TXT, D3)
 *   <sel2>._domainkey.<domain>  CNAME  <sel2>.<domainId>.dkim.<provider>   (DKIM TXT, D3)
 *   pbounces.<domain>           CNAME  <domainId>.rp.<provider>            (MX + SPF, D4)
 *
 * Pure: the same (domain, domainId, selectors, provider) always gives the same records.
 */
import { isIP } from "node:net";
import { domainToASCII, domainToUnicode } from "node:url";
import type { DnsRecordKind } from "../model/account/protocol.ts";

/** Label of the VERP Return-Path host under the customer's domain (D4). */
export const RETURN_PATH_LABEL = "pbounces";
/** Default DKIM selectors: fixed names, so a key rotation never changes the customer's records. */
export const DEFAULT_SELECTORS = ["petrel1", "petrel2"] as const;

/** Longest customer name we add in front of the domain: `<selector>._domainkey.` with a 63-char selector. */
const MAX_NAME = 253;

export const DOMAIN_NAME_PROBLEMS = [
  "empty",
  "invalid_characters",
  "ip_address",
  "single_label",
  "label_too_long",
  "too_long",
  "numeric_tld",
  "provider_domain",
] as const;
export type DomainNameProblem = (typeof DOMAIN_NAME_PROBLEMS)[number];

/** A name that cannot be a sending domain; `problem` is a closed set, `message` is for people. */
export class DomainNameError extends Error {
  override readonly name = "DomainNameError";
  constructor(
    readonly problem: DomainNameProblem,
    readonly input: string,
    message: string,
  ) {
    super(message);
  }
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Normalises a domain name: trims, lower-cases, converts IDNs to A-labels (`bücher.example` →
 * `xn--bcher-kva.example`), drops one trailing dot. Rejects IP addresses, single labels,
 * labels outside LDH rules and names too long once our longest record name is put in front.
 */
export function normalizeDomain(input: string, room = `${DEFAULT_SELECTORS[0]}._domainkey.`.length): string {
  const raw = input.trim();
  const fail = (problem: DomainNameProblem, why: string): never => {
    throw new DomainNameError(problem, input, `invalid domain ${JSON.stringify(input)}: ${why}`);
  };
  if (raw === "" || raw === ".") fail("empty", "it is empty");
  if (isIP(raw.replace(/^\[|\]$/g, "")) !== 0) fail("ip_address", "an IP address is not a domain name");
  // domainToASCII percent-decodes and accepts URL-ish input; a domain has none of these.
  if (/[%/\\@:[\]?#\s]/.test(raw)) fail("invalid_characters", "it contains characters a domain cannot have");
  const ascii = domainToASCII(raw).toLowerCase();
  if (ascii === "") fail("invalid_characters", "it is not a valid internationalised domain name");
  if (isIP(ascii) !== 0) fail("ip_address", `it reads as the IP address ${ascii}`);
  const name = ascii.endsWith(".") ? ascii.slice(0, -1) : ascii;
  const labels = name.split(".");
  if (labels.length < 2) fail("single_label", "it needs at least two labels, like example.com");
  for (const label of labels) {
    if (label.length > 63) fail("label_too_long", `the label ${JSON.stringify(label)} is longer than 63`);
    if (!LABEL.test(label))
      fail(
        "invalid_characters",
        `the label ${JSON.stringify(label)} is not letters, digits and inner hyphens`,
      ); // An A-label must decode to a U-label: Node 20's URL parser refuses one that does not, Node 24's
    // passes it through unchanged ("xn--zz"), so check it here the same way on both.
    if (label.startsWith("xn--") && domainToUnicode(label) === label)
      fail("invalid_characters", `the label ${JSON.stringify(label)} is not a valid internationalised label`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? "")) fail("numeric_tld", "the top-level label is numeric");
  if (name.length + room > MAX_NAME)
    fail(
      "too_long",
      `it is ${name.length} characters; at most ${MAX_NAME - room} leave room for the records`,
    );
  return name;
}

/** Room in front of the provider's domain: `<selector>.<domainId>.dkim.` with our longest ids. */
const PROVIDER_ROOM = 48;

/** The operator's zone (`PETREL_PROVIDER_DOMAIN`), normalised like a customer's domain. */
export function normalizeProviderDomain(provider: string): string {
  return normalizeDomain(provider, PROVIDER_ROOM);
}

/** A customer's sending domain: normalised, and neither the provider's domain nor under it. */
export function normalizeCustomerDomain(input: string, provider: string): string {
  const name = normalizeDomain(input);
  const p = normalizeProviderDomain(provider);
  if (name === p || name.endsWith(`.${p}`))
    throw new DomainNameError(
      "provider_domain",
      input,
      `invalid domain ${JSON.stringify(input)}: it is inside ${p}`,
    );
  return name;
}

/** One DNS label (selectors, domain ids). */
export function assertLabel(what: string, label: string): void {
  if (!LABEL.test(label)) throw new Error(`invalid ${what} ${JSON.stringify(label)}: expected one DNS label`);
}

export interface CustomerRecord {
  kind: DnsRecordKind;
  name: string;
  type: "CNAME";
  value: string;
}

export interface RecordInput {
  /** Normalised customer domain. */
  domain: string;
  domainId: string;
  selectors: readonly [string, string];
  /** Normalised provider domain. */
  provider: string;
}

export const returnPathHost = (domain: string): string => `${RETURN_PATH_LABEL}.${domain}`;
export const dkimName = (selector: string, domain: string): string => `${selector}._domainkey.${domain}`;
/** Name in the provider zone holding the DKIM TXT of one selector of one domain. */
export const dkimTarget = (selector: string, domainId: string, provider: string): string =>
  `${selector}.${domainId}.dkim.${provider}`;
/** Name in the provider zone holding the return path's MX and SPF. */
export const returnPathTarget = (domainId: string, provider: string): string => `${domainId}.rp.${provider}`;

/** The three CNAME records the customer creates, in the order DKIM 1, DKIM 2, Return-Path. */
export function customerRecords(o: RecordInput): CustomerRecord[] {
  assertLabel("domain id", o.domainId);
  assertLabel("DKIM selector", o.selectors[0]);
  assertLabel("DKIM selector", o.selectors[1]);
  if (o.selectors[0] === o.selectors[1]) throw new Error(`the two DKIM selectors are both ${o.selectors[0]}`);
  const [s1, s2] = o.selectors;
  return [
    {
      kind: "dkim1",
      name: dkimName(s1, o.domain),
      type: "CNAME",
      value: dkimTarget(s1, o.domainId, o.provider),
    },
    {
      kind: "dkim2",
      name: dkimName(s2, o.domain),
      type: "CNAME",
      value: dkimTarget(s2, o.domainId, o.provider),
    },
    {
      kind: "return_path",
      name: returnPathHost(o.domain),
      type: "CNAME",
      value: returnPathTarget(o.domainId, o.provider),
    },
  ];
}
