import type { Migration } from "../migration.ts";
import { ACTIVITY_SELECT } from "./0005_activity_recipients.ts";

/**
 * The classifier's decision on each failure event (issue 15, "explain every decision"): the reason
 * class (`decision_class`, a closed set: shared/bounce/rules.ts `REASON_CLASSES`), the id of the rule
 * that decided (`decision_rule`) and what that rule saw, in a few words (`decision_says`). Empty on
 * events without a decision (Accepted, Delivered, Rejected, and events stored before this migration).
 *
 * On `events` and on `activity_recipients`; the view that feeds `activity_recipients` is made again
 * with the new columns (ClickHouse cannot add a column to a view's SELECT in place). An event
 * inserted between the DROP and the CREATE is not written by the view, so the last statement writes
 * the last day's events again (the replacing key collapses what the view already wrote). Every
 * statement is safe to run twice.
 */
export const DECISION_COLUMNS = ["decision_class", "decision_rule", "decision_says"] as const;

const ADD = `ADD COLUMN IF NOT EXISTS decision_class LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS decision_rule LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS decision_says String DEFAULT ''`;

const SELECT = ACTIVITY_SELECT.replace(
  "subject, remote_reply, mx_host, is_test",
  `subject, remote_reply, mx_host, is_test, ${DECISION_COLUMNS.join(", ")}`,
);

export const migration: Migration = {
  version: 6,
  name: "bounce_decision",
  statements: [
    `ALTER TABLE events ${ADD}`,
    `ALTER TABLE activity_recipients ${ADD}`,
    "DROP VIEW IF EXISTS activity_recipients_mv",
    `CREATE MATERIALIZED VIEW IF NOT EXISTS activity_recipients_mv TO activity_recipients AS
${SELECT}`,
    `INSERT INTO activity_recipients (account_id, recipient_id, row_kind, version, event_id, ts, status, reason,
    message_id, recipient, recipient_domain, sender, sending_domain, smtp_user, subject, remote_reply, mx_host, is_test,
    ${DECISION_COLUMNS.join(", ")})
${SELECT}
WHERE ts >= now64(3) - INTERVAL 1 DAY`,
  ],
};
