/**
 * The /v1 JSON the pages read, as far as they read it. The API's zod schemas are the contract;
 * these are the fields the pages use.
 */

export type Band = "blue" | "orange" | "red";

export interface Quota {
  used: number;
  limit: number;
  percent: number;
  band: Band;
  periodStart: number;
  periodEnd: number;
}

export interface Me {
  kind: "member" | "apiKey";
  accountId: string;
  email?: string;
  role?: "admin" | "regular" | "custom";
  permissions?: string[];
}

export interface Account {
  accountId: string;
  name: string;
  status: "active" | "suspended" | "cancelled";
  sendingAllowed: boolean;
  timezone: string;
  plan: string;
}
