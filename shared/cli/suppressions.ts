/**
 * `petrel suppressions list|add|remove` (D8): an account's suppression list through the
 * operator routes /v1/admin/accounts/{accountId}/suppressions.
 */
import type { Command } from "./command.ts";

const str = { type: "string" } as const;
const enc = encodeURIComponent;
const path = (account: unknown) => `/v1/admin/accounts/${enc(String(account))}/suppressions`;

export const SUPPRESSION_COMMANDS: Command[] = [
  {
    name: "suppressions list",
    summary: "suppressed recipients, newest first (D8) → { suppressions: [...], next? }",
    options: { account: str, limit: str, cursor: str },
    required: ["account"],
    request: (v) => {
      const q = new URLSearchParams();
      if (typeof v.limit === "string") q.append("limit", v.limit);
      if (typeof v.cursor === "string") q.append("cursor", v.cursor);
      const qs = q.toString();
      return { method: "GET", path: `${path(v.account)}${qs ? `?${qs}` : ""}` };
    },
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
