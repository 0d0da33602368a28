import type { Migration } from "../migration.ts";
import { activitySelect } from "./0005_activity_recipients.ts";

/**
 * `header_from` (issue 14 point 6): the message's From header on the rows of submission, so a
 * message refused at DATA (content, size, a From header on an unverified domain) keeps in Activity
 * who it claimed to be from, beside the envelope sender. A column of `events` and of
 * `activity_recipients` ('' for older rows and for events that do not know it), and the
 * activity view copies it (MODIFY QUERY keeps the view and its target: no event is missed).
 */
export const migration: Migration = {
  version: 6,
  name: "header_from",
  statements: [
    `ALTER TABLE events ADD COLUMN IF NOT EXISTS header_from String DEFAULT '' AFTER subject`,
    `ALTER TABLE activity_recipients ADD COLUMN IF NOT EXISTS header_from String DEFAULT '' AFTER subject`,
    `ALTER TABLE activity_recipients_mv MODIFY QUERY ${activitySelect(", header_from")}`,
  ],
};
