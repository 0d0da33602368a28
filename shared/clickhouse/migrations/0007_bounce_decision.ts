import type { Migration } from "../migration.ts";
import { activitySelect } from "./0005_activity_recipients.ts";

/**
 * The classifier's decision on each failure event (issue 15, "explain every decision"): the reason
 * class (`decision_class`, a closed set: shared/bounce/rules.ts `REASON_CLASSES`), the id of the rule
 * that decided (`decision_rule`) and what that rule saw, in a few words (`decision_says`). Empty on
 * events without a decision (Accepted, Delivered, Rejected, and events stored before this migration).
 *
 * On `events` and on `activity_recipients`; the view that feeds `activity_recipients` copies them
 * (MODIFY QUERY keeps the view and its target, as migration 0006 does: no event is missed). Every
 * statement is safe to run twice.
 */
export const DECISION_COLUMNS = ["decision_class", "decision_rule", "decision_says"] as const;

const ADD = `ADD COLUMN IF NOT EXISTS decision_class LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS decision_rule LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS decision_says String DEFAULT ''`;

export const migration: Migration = {
  version: 7,
  name: "bounce_decision",
  statements: [
    `ALTER TABLE events ${ADD}`,
    `ALTER TABLE activity_recipients ${ADD}`,
    `ALTER TABLE activity_recipients_mv MODIFY QUERY ${activitySelect(`, header_from, ${DECISION_COLUMNS.join(", ")}`)}`,
  ],
};
