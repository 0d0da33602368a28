/** API keys (C5): scoped, shown once, revocable. Managed by administrators and regular members. */
import { SCOPES } from "../../../shared/model/account/protocol.ts";
import { grantableScopes } from "../../auth/policy.ts";
import { ApiError } from "../../errors.ts";
import { accountOp } from "../op.ts";
import { ApiKeyList, CreateApiKeyBody, CreatedApiKeySchema, KeyIdParam } from "../schemas.ts";

const tag = "api-keys";
const requirement = { who: "account", member: "admin_or_regular", scope: null, plan: false } as const;

export const apiKeyOps = [
  accountOp({
    id: "apiKeys.list",
    tag,
    summary: "API keys (never their secrets)",
    method: "get",
    path: "/api-keys",
    status: 200,
    response: ApiKeyList,
    requirement,
    admin: true,
    run: async ({ control, accountId }) => ({ apiKeys: await control.accounts.listApiKeys(accountId) }),
  }),
  accountOp({
    id: "apiKeys.create",
    tag,
    summary: "Create an API key; the key is shown once. A member grants only scopes within its permissions",
    method: "post",
    path: "/api-keys",
    body: CreateApiKeyBody,
    status: 201,
    response: CreatedApiKeySchema,
    requirement,
    admin: true,
    run: ({ control, accountId, body, principal }) => {
      const allowed = grantableScopes(principal, SCOPES);
      const denied = body.scopes.find((s) => !allowed.includes(s));
      if (denied) throw new ApiError(403, "forbidden", `you may not grant the scope ${denied}`, "scopes");
      return control.accounts.createApiKey(accountId, {
        scopes: [...new Set(body.scopes)],
        ...(body.label !== undefined ? { label: body.label } : {}),
      });
    },
  }),
  accountOp({
    id: "apiKeys.revoke",
    tag,
    summary: "Revoke an API key: it stops working at once",
    method: "delete",
    path: "/api-keys/{id}",
    params: KeyIdParam,
    status: 204,
    requirement,
    admin: true,
    run: ({ control, accountId, params }) => control.accounts.revokeApiKey(accountId, params.id),
  }),
];
