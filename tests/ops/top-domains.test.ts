/**
 * The bounded domain label of the delivery metrics (shared/metrics.ts `TopDomains`): the first n
 * domains get their own label, a later domain only once its volume passes the smallest labelled
 * one's, never more than 2n labels; the rest are "other". Fails if labels are handed out without
 * bound (a label per domain) or if a busy late domain never gets one.
 */
import { describe, expect, it } from "vitest";
import { TopDomains } from "../../shared/metrics.ts";

describe("TopDomains (bounded label cardinality)", () => {
  it("labels the first n domains, then counts the rest as other", () => {
    const t = new TopDomains(2);
    expect(["a", "b", "c", "a", "a"].map((d) => t.label(d))).toEqual(["a", "b", "other", "a", "a"]);
  });

  it("gives a later domain its label once it outgrows the smallest labelled one", () => {
    const t = new TopDomains(2);
    t.label("a");
    t.label("b");
    expect(t.label("busy")).toBe("other"); // 1 attempt: not more than b's 1
    expect(t.label("busy")).toBe("busy"); // 2 > 1
  });

  it("never hands out more than 2n labels, whatever the number of domains", () => {
    const t = new TopDomains(3, 50);
    const labels = new Set<string>();
    for (let round = 0; round < 20; round++)
      for (let d = 0; d < 200; d++)
        for (let k = 0; k <= round; k++) labels.add(t.label(`d${round}-${d}.test`));
    labels.delete("other");
    expect(labels.size).toBe(6);
  });
});
