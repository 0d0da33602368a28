/** Test data for the account actor: a sending domain as shared/domains would build it. */
import type { DomainRecordState, SendingDomain } from "../../shared/model/account/protocol.ts";

export function domainFixture(name: string): SendingDomain {
  const rec = (kind: DomainRecordState["kind"], host: string, value: string): DomainRecordState => ({
    kind,
    name: host,
    type: "CNAME",
    value,
    status: "pending",
  });
  return {
    id: `dom-${name}`,
    domain: name,
    addedAt: 0,
    status: "pending",
    trusted: false,
    records: [
      rec("dkim1", `pt1._domainkey.${name}`, `pt1.${name}.dkim.petrel.localhost`),
      rec("dkim2", `pt2._domainkey.${name}`, `pt2.${name}.dkim.petrel.localhost`),
      rec("return_path", `bounces.${name}`, `${name}.rp.petrel.localhost`),
    ],
    dkim: [
      {
        selector: "pt1",
        algorithm: "rsa-sha256",
        publicKey: "MIIBpub1",
        privateKeyPem: "-----BEGIN PRIVATE KEY-----\nk1\n",
      },
      {
        selector: "pt2",
        algorithm: "rsa-sha256",
        publicKey: "MIIBpub2",
        privateKeyPem: "-----BEGIN PRIVATE KEY-----\nk2\n",
      },
    ],
    activeSelector: "pt1",
    returnPathHost: `bounces.${name}`,
  };
}

/** The three records of a DNS check, each with the given status. */
export function checked(
  statuses: Partial<Record<DomainRecordState["kind"], DomainRecordState["status"]>>,
  at: number,
): DomainRecordState[] {
  return (["dkim1", "dkim2", "return_path"] as const).map((kind) => ({
    kind,
    name: kind,
    type: "CNAME",
    value: "",
    status: statuses[kind] ?? "verified",
    checkedAt: at,
    ...(statuses[kind] && statuses[kind] !== "verified" ? { detail: `${kind} is ${statuses[kind]}` } : {}),
  }));
}
