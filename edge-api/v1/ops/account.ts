/** The caller's account, plans and billing (C1, C6). */

import type { ControlDeps } from "../../deps.ts";
import { accountOp } from "../op.ts";
import {
  AccountSchema,
  BillingHistory,
  CancellationSchema,
  ChangePlanBody,
  PlanChangeSchema,
  PlanList,
} from "../schemas.ts";

const tag = "account";

/** The plan catalog: one operation, served to accounts (/v1/plans) and the operator (/v1/admin/plans). */
export const planCatalog = {
  summary: "The plan catalog",
  method: "get",
  path: "/plans",
  status: 200,
  response: PlanList,
  run: async ({ control }: { control: ControlDeps }) => ({ plans: control.accounts.listPlans() }),
} as const;

export const accountOps = [
  accountOp({
    id: "account.get",
    tag,
    summary: "The account: plan, status, period and quota",
    method: "get",
    path: "/account",
    status: 200,
    response: AccountSchema,
    requirement: { who: "account", member: "any", scope: "any", plan: false },
    admin: true,
    run: ({ control, accountId }) => control.accounts.getAccount(accountId),
  }),
  accountOp({
    id: "plans.list",
    tag,
    ...planCatalog,
    requirement: { who: "account", member: "billing", scope: "billing:read", plan: false },
    admin: false,
  }),
  accountOp({
    id: "account.plan",
    tag,
    summary: "Change plan: an upgrade at once, a downgrade from the next period",
    method: "post",
    path: "/account/plan",
    body: ChangePlanBody,
    status: 200,
    response: PlanChangeSchema,
    requirement: { who: "account", member: "billing", scope: "billing:write", plan: false },
    admin: true,
    run: ({ control, accountId, body }) => control.accounts.changePlan(accountId, body.plan),
  }),
  accountOp({
    id: "account.cancel",
    tag,
    summary: "Cancel: sending stops at the end of the period; data is erased after the retention period",
    method: "post",
    path: "/account/cancel",
    status: 200,
    response: CancellationSchema,
    requirement: { who: "account", member: "billing", scope: "billing:write", plan: false },
    admin: true,
    run: ({ control, accountId }) => control.accounts.cancel(accountId),
  }),
  accountOp({
    id: "account.billing",
    tag,
    summary: "Billing history: plan, quota, usage and price per period",
    method: "get",
    path: "/account/billing",
    status: 200,
    response: BillingHistory,
    requirement: { who: "account", member: "billing", scope: "billing:read", plan: false },
    admin: true,
    run: async ({ control, accountId }) => ({ periods: await control.accounts.billingHistory(accountId) }),
  }),
];
