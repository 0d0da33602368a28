/**
 * `petrel suppressions list|add|remove|lift` (D8, issue 15): an account's suppression list through
 * the operator routes /v1/admin/accounts/{accountId}/suppressions.
 */
import { accountPath, type Command, flag, str, withQuery } from "./command.ts";

const enc = encodeURIComponent;
/** `--since 1733450000000` as a number, an ISO date as given (the API checks both). */
const instant = (s: string): number | string => (/^\d{1,15}$/.test(s) ? Number(s) : s);
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
    name: "suppressions lift",
    summary:
      "remove in bulk the entries matching all given criteria: --class (e.g. policy), --rule, --source, --since, --until (ISO 8601 or ms), --dry-run → { lifted, dryRun }",
    options: { account: str, class: str, rule: str, source: str, since: str, until: str, "dry-run": flag },
    required: ["account"],
    request: (v) => ({
      method: "POST",
      path: `${path(v.account)}/lift`,
      body: {
        ...(typeof v.class === "string" ? { class: v.class } : {}),
        ...(typeof v.rule === "string" ? { rule: v.rule } : {}),
        ...(typeof v.source === "string" ? { source: v.source } : {}),
        ...(typeof v.since === "string" ? { since: instant(v.since) } : {}),
        ...(typeof v.until === "string" ? { until: instant(v.until) } : {}),
        ...(v["dry-run"] === true ? { dryRun: true } : {}),
      },
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
