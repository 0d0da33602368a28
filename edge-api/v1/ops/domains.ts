/** Sending domains (C4): three CNAME records, verification by DNS, per-record status, delete. */
import type { DomainView } from "../../../shared/model/account/views.ts";
import { ApiError } from "../../errors.ts";
import { accountOp } from "../op.ts";
import { AddDomainBody, DomainList, DomainParam, DomainSchema, VerifyDomainBody } from "../schemas.ts";

const tag = "domains";
const requirement = { who: "account", member: "smtp.domains", scope: "domains:write", plan: true } as const;

/** The API's shape of a domain: `domainId` (O4) instead of the state's `id`. */
export function domainBody({ id, ...rest }: DomainView) {
  return { domainId: id, ...rest };
}

export const domainOps = [
  accountOp({
    id: "domains.list",
    tag,
    summary: "Sending domains",
    method: "get",
    path: "/domains",
    status: 200,
    response: DomainList,
    requirement,
    admin: true,
    run: async ({ control, accountId }) => ({
      domains: (await control.accounts.listDomains(accountId)).map(domainBody),
    }),
  }),
  accountOp({
    id: "domains.add",
    tag,
    summary: "Add a sending domain: answers the three CNAME records to create (DKIM 1, DKIM 2, Return-Path)",
    method: "post",
    path: "/domains",
    body: AddDomainBody,
    status: 201,
    response: DomainSchema,
    requirement,
    admin: true,
    run: async ({ control, accountId, body }) =>
      domainBody(await control.domains.add(accountId, body.domain)),
  }),
  accountOp({
    id: "domains.get",
    tag,
    summary: "A sending domain with its records and their verification state",
    method: "get",
    path: "/domains/{domain}",
    params: DomainParam,
    status: 200,
    response: DomainSchema,
    requirement,
    admin: true,
    run: async ({ control, accountId, params }) =>
      domainBody(await control.accounts.getDomain(accountId, params.domain)),
  }),
  accountOp({
    id: "domains.verify",
    tag,
    summary: "Verify the records by DNS now; the operator may pass `trust` to mark it verified without DNS",
    method: "post",
    path: "/domains/{domain}/verify",
    params: DomainParam,
    body: VerifyDomainBody,
    status: 200,
    response: DomainSchema,
    requirement,
    admin: true,
    run: async ({ control, accountId, params, body, principal }) => {
      if (!body.trust) return domainBody(await control.domains.verify(accountId, params.domain));
      if (principal.kind !== "operator")
        throw new ApiError(403, "forbidden", "only the operator may trust a domain without DNS", "trust");
      const view = await control.accounts.trustDomain(accountId, params.domain, "operator");
      control.audit?.("domain trusted without DNS", { accountId, domain: params.domain, by: "operator" });
      return domainBody(view);
    },
  }),
  accountOp({
    id: "domains.delete",
    tag,
    summary: "Delete a sending domain: sending from it stops; its history stays",
    method: "delete",
    path: "/domains/{domain}",
    params: DomainParam,
    status: 204,
    requirement,
    admin: true,
    run: ({ control, accountId, params }) => control.accounts.deleteDomain(accountId, params.domain),
  }),
];
