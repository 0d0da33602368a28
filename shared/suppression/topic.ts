/**
 * The `suppressions` topic (D8, S9; issue 16): what the suppression actors publish for every node's
 * SuppressionView (view.ts). Web APIs only: the actor module that writes it is also loaded by the
 * edge API.
 *   `entry:<accountId>:<lower-cased address>` → the entry's JSON; a tombstone once removed
 *   `complete:<accountId>`                    → written once the actor has published its whole list
 */
import type { TopicSpec } from "../bus/types.ts";

export const SUPPRESSIONS_TOPIC = "suppressions";
/** One partition, compacted: one total order, like the directory. */
export const SUPPRESSIONS_TOPIC_SPEC: TopicSpec = {
  name: SUPPRESSIONS_TOPIC,
  partitions: 1,
  compacted: true,
};

/** The lookup key of an address: the whole address lower-cased (as the actor keys its entries). */
export const suppressionAddressKey = (address: string) => address.trim().toLowerCase().replace(/\.$/, "");

/** Record keys, one function each: an entry, and the account's `complete` marker. */
export const suppressionEntryKey = (accountId: string, address: string) =>
  `entry:${accountId}:${suppressionAddressKey(address)}`;
export const suppressionMarkerKey = (accountId: string) => `complete:${accountId}`;

const MARK = new TextEncoder().encode("1");
/** The marker's value (any non-empty value: an empty one is a tombstone). */
export const markerValue = (): Uint8Array => MARK;
