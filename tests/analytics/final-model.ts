/**
 * An independent model of the final-status pre-aggregate (migration 0003) and what `stats_final`
 * holds, for tests/analytics/final-stats*.test.ts.
 */
import { SLOT_MS } from "../../shared/analytics/final-stats.ts";
import type { ClickHouseHandle } from "../../shared/clickhouse/client.ts";
import type { StatusEvent } from "../../shared/model/event.ts";
import type { RecipientStatus } from "../../shared/model/status.ts";

export const RANK: Record<RecipientStatus, number> = {
  Accepted: 1,
  Pending: 2,
  Deferred: 3,
  Delivered: 4,
  SoftBounce: 5,
  HardBounce: 6,
  Rejected: 7,
};
/** Independent model: recipients by (account, first-event slot, domain, final status), sandbox out. */
export function model(events: StatusEvent[]): Map<string, number> {
  const per = new Map<
    string,
    { first: number; key: [number, number]; status: string; dom: string; test: boolean }
  >();
  for (const e of events) {
    const k = `${e.accountId}|${e.recipientId}`;
    const cur = per.get(k);
    const key: [number, number] = [e.ts, RANK[e.status]];
    if (!cur) {
      per.set(k, { first: e.ts, key, status: e.status, dom: e.sendingDomain, test: e.isTest });
      continue;
    }
    cur.first = Math.min(cur.first, e.ts);
    if (key[0] > cur.key[0] || (key[0] === cur.key[0] && key[1] > cur.key[1])) {
      cur.key = key;
      cur.status = e.status;
    }
  }
  const m = new Map<string, number>();
  for (const [k, v] of per) {
    if (v.test) continue;
    const slot = Math.floor(v.first / SLOT_MS) * SLOT_MS;
    const key = `${k.split("|")[0]}|${slot / 1000}|${v.dom}|${v.status}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

export async function stored(h: ClickHouseHandle): Promise<Map<string, number>> {
  const rs = await h.client.query({
    query: `SELECT account_id, toUnixTimestamp(slot) AS s, sending_domain AS d, status, sum(recipients) AS n
      FROM stats_final WHERE kind = 1 GROUP BY account_id, s, d, status HAVING n != 0`,
    format: "JSONEachRow",
  });
  const found = (await rs.json()) as {
    account_id: string;
    s: number;
    d: string;
    status: string;
    n: string;
  }[];
  return new Map(found.map((x) => [`${x.account_id}|${x.s}|${x.d}|${x.status}`, Number(x.n)]));
}
