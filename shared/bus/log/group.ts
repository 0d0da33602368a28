/**
 * In-process consumer-group coordinator. Members of a group share the partitions of the topics
 * they subscribe to by range assignment (per topic, members in join order each get a contiguous
 * run of partitions). Every join or leave triggers a rebalance, one at a time per group:
 *  1. every member stops the partitions it loses (waiting for in-flight handlers, committing its
 *     processed offsets with autoCommit, then calling onRevoke), all in parallel;
 *  2. then every member takes the partitions it gains (start offsets are read only now, after
 *     the previous owner committed; onAssign is called before the first record).
 * Partitions that stay with their member are not interrupted.
 */
import type { SubscribeOptions, TopicPartition } from "../types.ts";
import { Member, type MemberHost, tpKey } from "./member.ts";

export function rangeAssign(
  members: { id: number; topics: string[] }[],
  partitionCount: (topic: string) => number,
): Map<number, TopicPartition[]> {
  const out = new Map<number, TopicPartition[]>(members.map((m) => [m.id, []]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const subs = members.filter((m) => m.topics.includes(topic)).sort((a, b) => a.id - b.id);
    const n = partitionCount(topic);
    const per = Math.floor(n / subs.length);
    const extra = n % subs.length;
    let p = 0;
    subs.forEach((m, i) => {
      const count = per + (i < extra ? 1 : 0);
      for (let j = 0; j < count; j++) out.get(m.id)!.push({ topic, partition: p++ });
    });
  }
  return out;
}

export class GroupCoordinator {
  private members: Member[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private nextId = 0;

  constructor(
    readonly group: string,
    private readonly host: MemberHost,
  ) {}

  get size(): number {
    return this.members.length;
  }

  /** The topics its live members subscribe to. */
  topics(): string[] {
    return [...new Set(this.members.flatMap((m) => m.options.topics))];
  }

  /** Adds a member; resolves once it holds its partitions (onAssign done, delivery started). */
  async join(options: SubscribeOptions): Promise<Member> {
    const member = new Member(++this.nextId, options, this.host, (m) => this.leave(m));
    await this.serial(async () => {
      this.members.push(member);
      await this.rebalance([]);
    });
    return member;
  }

  /** Removes a member; resolves once its partitions were handed to the others. */
  leave(member: Member): Promise<void> {
    return this.serial(async () => {
      if (!this.members.includes(member)) return;
      this.members = this.members.filter((m) => m !== member);
      await this.rebalance([member]);
    });
  }

  /** Every member leaves at once (bus shutdown). */
  shutdown(): Promise<void> {
    return this.serial(async () => {
      const all = this.members;
      this.members = [];
      await this.rebalance(all);
      for (const m of all) m.closed = true;
    });
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private async rebalance(leaving: Member[]): Promise<void> {
    for (const m of this.members) m.options.onRebalanceStart?.();
    try {
      await this.moveAll(leaving);
    } finally {
      for (const m of this.members) m.options.onRebalanceEnd?.();
    }
  }

  private async moveAll(leaving: Member[]): Promise<void> {
    const target = rangeAssign(
      this.members.map((m) => ({ id: m.id, topics: m.options.topics })),
      (t) => this.host.partitionCount(t),
    );
    const keysOf = (m: Member) =>
      new Set((target.get(m.id) ?? []).map((tp) => tpKey(tp.topic, tp.partition)));
    await Promise.all(
      [...this.members, ...leaving].map((m) => {
        const keep = keysOf(m);
        return m.revoke(m.ownedKeys().filter((k) => !keep.has(k)));
      }),
    );
    await Promise.all(
      this.members.map((m) =>
        m.assign((target.get(m.id) ?? []).filter((tp) => !m.owns(tpKey(tp.topic, tp.partition)))),
      ),
    );
  }
}
