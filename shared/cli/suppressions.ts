/**
 * `petrel suppressions list|add|remove` (D8): an account's suppression list through the
 * operator routes /v1/admin/accounts/{accountId}/suppressions.
 */
import { accountPath, type Command, str, withQuery } from "./command.ts";

const enc = encodeURIComponent;
const path = (account: unknown) => `${accountPath(account)}/suppressions`;

export const SUPPRESSION_COMMANDS: Command[] = [
  {
    name: "suppressions list",
    summary: "suppressed recipients, newest first (D8) → { suppressions: [...], next? }",
    options: { account: str, limit: str, cursor: str },
    required: ["account"],
    request: (v) => ({
      method: "GET",
      path: withQuery(path(v.account), [
        ["limit", v.limit],
        ["cursor", v.cursor],
      ]),
    }),
  },
  {
    name: "suppressions add",
    summary: "suppress a recipient by hand (idempotent) → { address, reason, source, suppressedAt }",
    options: { account: str, address: str, reason: str },
    required: ["account", "address"],
    request: (v) => ({
      method: "POST",
      path: path(v.account),
      body: { address: v.address, ...(typeof v.reason === "string" ? { reason: v.reason } : {}) },
    }),
  },
  {
    name: "suppressions remove",
    summary: "remove a recipient from the suppression list → { removed }",
    options: { account: str, address: str },
    required: ["account", "address"],
    request: (v) => ({ method: "DELETE", path: `${path(v.account)}/${enc(String(v.address))}` }),
    output: (_res, v) => ({ removed: v.address }),
  },
];
