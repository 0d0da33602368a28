/** Operator-only routes (O4): accounts are created here; the provider zone is exported here. */
import { plainOp } from "../op.ts";
import { AccountSchema, CreateAccountBody } from "../schemas.ts";
import { planCatalog } from "./account.ts";

const tag = "operator";

export const operatorOps = [
  plainOp({
    kind: "operator",
    id: "admin.accounts.create",
    tag,
    summary: "Create an account",
    method: "post",
    path: "/accounts",
    body: CreateAccountBody,
    status: 201,
    response: AccountSchema,
    run: ({ control, body }) =>
      control.accounts.createAccount({
        name: body.name,
        plan: body.plan,
        ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
        ...(body.accountId !== undefined ? { accountId: body.accountId } : {}),
      }),
  }),
  plainOp({
    kind: "operator",
    id: "admin.plans.list",
    tag,
    ...planCatalog,
  }),
  plainOp({
    kind: "operator",
    id: "admin.zone",
    tag,
    summary:
      "The provider zone (RFC 1035 master format): DKIM TXT keys, return-path MX and SPF of every domain",
    method: "get",
    path: "/zone",
    status: 200,
    response: "text",
    run: ({ control }) => control.domains.zone(),
  }),
];
