/**
 * The operator CLI's commands (O4), as data: the options each takes, the API request it makes
 * (the operator routes under /v1/admin), and the JSON it prints. Adding a command is one entry.
 */
import { RECIPIENT_STATUSES, recipientStatusOf, STATUS_LABELS } from "../model/status.ts";
import {
  type ApiRequest,
  accountPath,
  type Command,
  flag,
  many,
  OptionError,
  str,
  type Values,
  withQuery,
} from "./command.ts";
import { INIT_COMMAND } from "./init.ts";
import { SUPPRESSION_COMMANDS } from "./suppressions.ts";

export type { ApiRequest, Command, Values };

const enc = encodeURIComponent;
const acct = (v: Values) => accountPath(v.account);
const s = (v: unknown) => (typeof v === "string" ? v : undefined);

/** The statuses `--status` takes: each name, with its label when that differs (`SoftBounce ("Soft bounce")`). */
export const STATUS_WORDS = RECIPIENT_STATUSES.map((x) =>
  STATUS_LABELS[x] === x ? x : `${x} ("${STATUS_LABELS[x]}")`,
).join(", ");

/** `--status` by name or label, in any case, repeated or comma-separated → the closed set's names. */
function statusOptions(v: Values): Values {
  if (v.status === undefined) return v;
  const words = [v.status].flat().flatMap((w) => String(w).split(","));
  const status = words
    .filter((w) => w.trim() !== "")
    .map((w) => {
      const known = recipientStatusOf(w);
      if (!known)
        throw new OptionError(
          `--status ${JSON.stringify(w.trim())} is not a status; expected one of ${STATUS_WORDS}`,
        );
      return known;
    });
  return { ...v, status };
}

interface Rec {
  kind?: string;
  name: string;
  type: string;
  value: string;
  status?: string;
  detail?: string;
}
interface DomainAnswer {
  domainId: string;
  domain: string;
  status: string;
  trusted?: boolean;
  records: Rec[];
}

export const COMMANDS: Command[] = [
  INIT_COMMAND,
  {
    name: "account create",
    summary: "create an account → { accountId, ... }",
    options: { name: str, plan: str, timezone: str, id: str },
    required: ["name", "plan"],
    request: (v) => ({
      method: "POST",
      path: "/v1/admin/accounts",
      body: { name: v.name, plan: v.plan, timezone: s(v.timezone), accountId: s(v.id) },
    }),
  },
  {
    name: "account get",
    summary: "show an account: plan, status, period, quota",
    options: { account: str },
    required: ["account"],
    request: (v) => ({ method: "GET", path: acct(v) }),
  },
  {
    name: "account cancel",
    summary: "cancel an account: sending stops at the end of the period",
    options: { account: str },
    required: ["account"],
    request: (v) => ({ method: "POST", path: `${acct(v)}/cancel` }),
  },
  {
    name: "member add",
    summary: "add a team member (a password is generated and shown once unless given)",
    options: { account: str, email: str, role: str, permission: many, password: str },
    required: ["account", "email", "role"],
    request: (v) => ({
      method: "POST",
      path: `${acct(v)}/members`,
      body: { email: v.email, role: v.role, permissions: v.permission, password: s(v.password) },
    }),
  },
  {
    name: "apikey create",
    summary: "create an API key → { key, ... } (shown once)",
    options: { account: str, scope: many, label: str },
    required: ["account"],
    request: (v) => ({
      method: "POST",
      path: `${acct(v)}/api-keys`,
      body: { scopes: v.scope ?? [], label: s(v.label) },
    }),
  },
  {
    name: "domain add",
    summary: "add a sending domain → { domainId, records: [{name,type,value}] }",
    options: { account: str, domain: str },
    required: ["account", "domain"],
    request: (v) => ({ method: "POST", path: `${acct(v)}/domains`, body: { domain: v.domain } }),
    output: (res) => {
      const d = res as DomainAnswer;
      return {
        domainId: d.domainId,
        domain: d.domain,
        status: d.status,
        records: d.records.map((r) => ({ name: r.name, type: r.type, value: r.value })),
      };
    },
  },
  {
    name: "domain verify",
    summary: "verify a domain's records by DNS (--trust: verified without DNS, logged) → { status, records }",
    options: { account: str, domain: str, trust: flag },
    required: ["account", "domain"],
    request: (v) => ({
      method: "POST",
      path: `${acct(v)}/domains/${enc(String(v.domain))}/verify`,
      body: v.trust ? { trust: true } : {},
    }),
    output: (res) => {
      const d = res as DomainAnswer;
      return {
        domainId: d.domainId,
        domain: d.domain,
        status: d.status,
        trusted: d.trusted,
        records: d.records.map((r) => ({
          kind: r.kind,
          name: r.name,
          type: r.type,
          value: r.value,
          status: r.status,
          ...(r.detail !== undefined ? { detail: r.detail } : {}),
        })),
      };
    },
  },
  {
    name: "smtp-user create",
    summary: "create an SMTP user → { username, password } (the password is shown once)",
    options: { account: str, name: str },
    required: ["account"],
    request: (v) => ({ method: "POST", path: `${acct(v)}/smtp-users`, body: { name: s(v.name) } }),
  },
  {
    name: "smtp-user reset",
    summary: "reset an SMTP user's password → { password } (the old one stops working at once)",
    options: { account: str, username: str },
    required: ["account", "username"],
    request: (v) => ({ method: "POST", path: `${acct(v)}/smtp-users/${enc(String(v.username))}/reset` }),
  },
  {
    name: "smtp-user delete",
    summary: "delete an SMTP user (its credentials stop working at once)",
    options: { account: str, username: str },
    required: ["account", "username"],
    request: (v) => ({ method: "DELETE", path: `${acct(v)}/smtp-users/${enc(String(v.username))}` }),
    output: (_res, v) => ({ deleted: true, username: v.username }),
  },
  {
    name: "plan list",
    summary: "the plan catalog",
    options: {},
    required: [],
    request: () => ({ method: "GET", path: "/v1/admin/plans" }),
  },
  {
    name: "plan change",
    summary: "change an account's plan (upgrade at once, downgrade from the next period)",
    options: { account: str, plan: str },
    required: ["account", "plan"],
    request: (v) => ({ method: "POST", path: `${acct(v)}/plan`, body: { plan: v.plan } }),
  },
  {
    name: "activity",
    summary:
      "Activity of an account, newest first (A1) → { rows: [...], nextCursor? }; --view recipients (default: one row per recipient, current status) | events (every status event); --status by name or label, any case",
    options: {
      account: str,
      view: str,
      recipient: str,
      sender: str,
      subject: str,
      status: many,
      "message-id": str,
      from: str,
      to: str,
      cursor: str,
      limit: str,
    },
    required: ["account"],
    prepare: statusOptions,
    request: (v) => ({
      method: "GET",
      path: withQuery(`${acct(v)}/activity`, [
        ["view", v.view],
        ["recipient", v.recipient],
        ["sender", v.sender],
        ["subject", v.subject],
        ["status", v.status],
        ["messageId", v["message-id"]],
        ["from", v.from],
        ["to", v.to],
        ["cursor", v.cursor],
        ["limit", v.limit],
      ]),
    }),
  },
  {
    name: "activity timeline",
    summary: "one recipient's every status event, oldest first (A1) → { recipientId, rows: [...] }",
    options: { account: str, "recipient-id": str },
    required: ["account", "recipient-id"],
    request: (v) => ({
      method: "GET",
      path: `${acct(v)}/activity/${enc(String(v["recipient-id"]))}`,
    }),
  },
  {
    name: "stats",
    summary:
      "Statistics KPIs with their changes (A4), rates over recipients with a final status (null: no data), in flight and test recipients apart; --include-tests counts the test recipients → { period, kpis, inFlight, testRecipients, ... }",
    options: { account: str, period: str, from: str, to: str, view: str, "include-tests": flag },
    required: ["account"],
    request: (v) => ({
      method: "GET",
      path: withQuery(`${acct(v)}/stats`, [
        ...(["period", "from", "to", "view"] as const).map((k): [string, unknown] => [k, v[k]]),
        ["tests", v["include-tests"] ? "include" : undefined],
      ]),
    }),
  },
  {
    name: "quota",
    summary: "the monthly quota gauge (A7) → { used, limit, percent, band, ... }",
    options: { account: str },
    required: ["account"],
    request: (v) => ({ method: "GET", path: `${acct(v)}/quota` }),
  },
  {
    name: "zone export",
    summary: "print the provider zone (RFC 1035 master format)",
    options: {},
    required: [],
    request: () => ({ method: "GET", path: "/v1/admin/zone" }),
    text: true,
  },
  ...SUPPRESSION_COMMANDS,
];
