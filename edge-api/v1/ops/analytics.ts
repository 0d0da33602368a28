/**
 * Activity, Statistics and the quota gauge (A1–A7) for the caller's account: "Access SMTP activities"
 * for members, scopes `activity:read` / `stats:read` for API keys, and an account allowed to send (C2).
 * The reads go to ClickHouse through `control.analytics` (shared/analytics/service.ts).
 */
import { z } from "@hono/zod-openapi";
import type { Analytics } from "../../../shared/analytics/service.ts";
import type { ControlDeps } from "../../deps.ts";
import { ApiError } from "../../errors.ts";
import {
  ActivityQuery,
  activityFilter,
  queryParameters,
  StatsQuery,
  statsPeriod,
} from "../analytics-input.ts";
import { accountOp } from "../op.ts";

const activityReq = { who: "account", member: "smtp.activity", scope: "activity:read", plan: true } as const;
const statsReq = { who: "account", member: "smtp.activity", scope: "stats:read", plan: true } as const;

const DomainParam = z.object({ domain: z.string().min(1).max(253) });
const RecipientParam = z.object({ recipientId: z.string().min(1).max(200) });

function analytics(control: ControlDeps): Analytics {
  if (!control.analytics)
    throw new ApiError(503, "unavailable", "the analytics store is not served by this runtime");
  return control.analytics;
}

/** "Today", the default periods and "the last 10" follow the deps' clock (tests pin it), not Date.now. */
const nowOf = (control: ControlDeps): number => (control.now ? control.now() : Date.now());

const ACTIVITY_QUERY = queryParameters(ActivityQuery);
const EXPORT_QUERY = queryParameters(ActivityQuery, [
  "recipient",
  "sender",
  "subject",
  "status",
  "messageId",
  "from",
  "to",
  "view",
]);
const STATS_QUERY = queryParameters(StatsQuery);
const DOMAIN_QUERY = queryParameters(StatsQuery, ["period", "from", "to"]);
// The domain route leaves test recipients out (its `tests` parameter is not offered).

export const analyticsOps = [
  accountOp({
    id: "activity.search",
    tag: "activity",
    summary:
      "Activity, newest first (A1–A3). view=recipients (default): one row per recipient with its current status, plus the Delivered row of a recipient that bounced after Delivered; view=events: one row per status event. Query: view, recipient, sender, subject, status (applies to the status each row shows), messageId, from, to, cursor, limit",
    method: "get",
    path: "/activity",
    query: ACTIVITY_QUERY,
    status: 200,
    requirement: activityReq,
    admin: true,
    run: async ({ c, control, accountId }) => {
      const account = await control.accounts.getAccount(accountId);
      const filter = activityFilter(new URL(c.req.url), nowOf(control));
      return analytics(control).activity(accountId, filter, account.timezone);
    },
  }),
  accountOp({
    id: "activity.export",
    tag: "activity",
    summary:
      "Activity as CSV, streamed (A3); the same view (recipients by default, or events) and filters as the search, all pages",
    method: "get",
    path: "/activity/export",
    query: EXPORT_QUERY,
    status: 200,
    response: "text",
    requirement: activityReq,
    admin: true,
    run: async ({ c, control, accountId }) => {
      const account = await control.accounts.getAccount(accountId);
      const { cursor: _c, limit: _l, ...filter } = activityFilter(new URL(c.req.url), nowOf(control));
      const body = analytics(control).activityCsv(accountId, filter, account.timezone);
      return new Response(body, {
        status: 200,
        headers: {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": 'attachment; filename="activity.csv"',
        },
      });
    },
  }),
  accountOp({
    id: "activity.timeline",
    tag: "activity",
    summary:
      "One recipient's whole timeline (A1): every status event (time, status, reason, remote reply, MX host), oldest first → { recipientId, rows }. 404 when the account has no such recipient",
    method: "get",
    path: "/activity/{recipientId}",
    params: RecipientParam,
    status: 200,
    requirement: activityReq,
    admin: true,
    run: async ({ control, accountId, params }) => {
      const account = await control.accounts.getAccount(accountId);
      const rows = await analytics(control).timeline(accountId, params.recipientId, account.timezone);
      if (rows.length === 0)
        throw new ApiError(404, "not_found", "no such recipient in this account's activity");
      return { recipientId: params.recipientId, rows };
    },
  }),
  accountOp({
    id: "stats.get",
    tag: "stats",
    summary:
      "Statistics (A4–A6, docs/statistics.md): KPIs with their change (rates over recipients with a final status, null when none), recipients in flight apart, test recipients counted apart, series New/Cumulative, domains, last 10 activities. Query: period=today|yesterday|7d|30d or from+to, view=new|cumulative, tests=exclude|include",
    method: "get",
    path: "/stats",
    query: STATS_QUERY,
    status: 200,
    requirement: statsReq,
    admin: true,
    run: async ({ c, control, accountId }) => {
      const account = await control.accounts.getAccount(accountId);
      const now = nowOf(control);
      const { period, view, includeTests } = statsPeriod(new URL(c.req.url), now, account.timezone);
      return analytics(control).stats(accountId, period, view, now, { includeTests });
    },
  }),
  accountOp({
    id: "stats.domain",
    tag: "stats",
    summary: "One sending domain's figures over the period, soft and hard bounces apart (A4)",
    method: "get",
    path: "/stats/domains/{domain}",
    params: DomainParam,
    query: DOMAIN_QUERY,
    status: 200,
    requirement: statsReq,
    admin: true,
    run: async ({ c, control, accountId, params }) => {
      const account = await control.accounts.getAccount(accountId);
      const now = nowOf(control);
      const { period } = statsPeriod(new URL(c.req.url), now, account.timezone);
      return analytics(control).domain(accountId, params.domain.toLowerCase(), period, now);
    },
  }),
  accountOp({
    id: "quota.get",
    tag: "stats",
    summary: "The monthly quota gauge: used, limit, percent, colour band (A7). No query parameters",
    method: "get",
    path: "/quota",
    status: 200,
    requirement: { who: "account", member: "any", scope: "any", plan: false },
    admin: true,
    run: async ({ control, accountId }) => (await control.accounts.getAccount(accountId)).quota,
  }),
];
