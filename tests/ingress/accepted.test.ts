/**
 * One durable write per accepted message (issue 16): ingress hands only the records to the bus
 * before 250, and each record's `Accepted` event comes from the domain actor's turn that takes it
 * (actors/accepted.ts). Pure checks against literal values; tests/ingress/envelope.test.ts sees
 * the events arrive through a real relay.
 */
import { describe, expect, it } from "vitest";
import { withAcceptedEvents } from "../../actors/accepted.ts";
import type { ActorContext, Behavior } from "../../actors/behavior.ts";
import type { DomainMsg } from "../../actors/domain/protocol.ts";
import { messageOutcome } from "../../ingress/commit.ts";
import type { Transaction } from "../../ingress/transaction.ts";
import { decodeStatusEvent, STATUS_EVENTS_TOPIC } from "../../shared/model/event.ts";

const tx: Transaction = {
  messageId: "m1",
  principal: { accountId: "acc", username: "u1" },
  sender: { address: "app@shop.example", local: "app", domain: "shop.example" },
  smtputf8: false,
  seq: 3,
  accepted: [
    {
      seq: 0,
      mailbox: { address: "a@x.example", local: "a", domain: "x.example" },
      isTest: false,
      suppressed: false,
    },
    {
      seq: 1,
      mailbox: { address: "b@y.example", local: "b", domain: "y.example" },
      isTest: false,
      suppressed: true,
    },
    {
      seq: 2,
      mailbox: { address: "c@x.example", local: "c", domain: "x.example" },
      isTest: false,
      suppressed: false,
    },
  ],
  reserved: 2,
  startedAt: 0,
};
const stored = { stored: { ref: "ref1", size: 123 }, subject: "Hi", eightBit: false };

describe("one durable write per accepted message", () => {
  it("ingress publishes records for the deliverable recipients and events only for the suppressed", () => {
    const { records, events } = messageOutcome(tx, stored as never, 1_000);
    expect(records.map((r) => r.recipientId)).toEqual(["m1.0", "m1.2"]);
    expect(events.map((e) => [e.recipientId, e.status, e.reason, e.remoteReply])).toEqual([
      ["m1.1", "Rejected", "suppressed", "250 2.0.0 OK queued as m1"],
    ]);
  });

  it("the domain actor's turn emits each record's Accepted event before its own outputs", () => {
    const { records } = messageOutcome(tx, stored as never, 1_000);
    const emitted: { topic: string; key: string; value: Uint8Array }[] = [];
    const inner: Behavior<number, DomainMsg> = {
      type: "domain",
      initial: () => 0,
      receive: (s, _m, ctx) => {
        ctx.emit("inner.out", "k", new Uint8Array());
        return s + 1;
      },
    };
    const ctx = {
      key: "domain:x.example",
      id: "x.example",
      now: 5_000,
      emit: (topic: string, key: string, value: Uint8Array) => emitted.push({ topic, key, value }),
    } as unknown as ActorContext<DomainMsg>;
    const b = withAcceptedEvents(inner);
    expect(b.receive(0, { t: "recipient", record: records[0] as never }, ctx)).toBe(1);
    expect(emitted.map((e) => [e.topic, e.key])).toEqual([
      [STATUS_EVENTS_TOPIC, "acc"],
      ["inner.out", "k"],
    ]);
    const e = decodeStatusEvent(emitted[0]?.value as Uint8Array);
    expect(e.success && e.data).toMatchObject({
      eventId: "m1.0:Accepted:0",
      recipientId: "m1.0",
      recipient: "a@x.example",
      status: "Accepted",
      reason: "none",
      remoteReply: "250 2.0.0 OK queued as m1",
      subject: "Hi",
      ts: 1_000, // the accept, not the turn
    });
    // other messages pass through untouched
    emitted.length = 0;
    b.receive(1, { t: "due", recipientId: "m1.0" } as DomainMsg, ctx);
    expect(emitted.map((e) => e.topic)).toEqual(["inner.out"]);
  });
});
