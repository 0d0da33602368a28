/**
 * Topics the account actor emits to, besides the directory (shared/directory/entries.ts).
 *  - `account.alerts`: A7 quota alerts (80/90/100 %, once per period), key `account:<id>`;
 *    the alert email to administrators is sent by a later consumer.
 *  - `account.events`: lifecycle events (created, plan changed, cancelled, period closed,
 *    domain trusted, erased …), key `account:<id>`: the durable log of operator actions too.
 *  - `domain.verify`: DNS re-verification requests (C4), key `account:<id>`, value
 *    `{ accountId, domain }`, consumed by the sending-domain worker (shared/domains).
 */
import type { TopicSpec } from "../../bus/types.ts";

export const ACCOUNT_ALERTS_TOPIC = "account.alerts";
export const ACCOUNT_EVENTS_TOPIC = "account.events";
export const DOMAIN_VERIFY_TOPIC = "domain.verify";

export interface QuotaAlert {
  type: "quota_alert";
  accountId: string;
  threshold: number;
  used: number;
  quota: number;
  periodStart: number;
  periodEnd: number;
  at: number;
}

export type AccountEventType =
  | "created"
  | "plan_changed"
  | "plan_change_scheduled"
  | "cancel_requested"
  | "cancelled"
  | "period_closed"
  | "status_changed"
  | "domain_trusted"
  | "domain_lost_verification"
  | "erased";

export interface AccountEvent {
  type: AccountEventType;
  accountId: string;
  at: number;
  [detail: string]: unknown;
}

export interface DomainVerifyRequest {
  accountId: string;
  domain: string;
}

export function accountOutputTopics(partitions: number): TopicSpec[] {
  return [
    { name: ACCOUNT_ALERTS_TOPIC, partitions },
    { name: ACCOUNT_EVENTS_TOPIC, partitions },
    { name: DOMAIN_VERIFY_TOPIC, partitions },
  ];
}
