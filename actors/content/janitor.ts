/**
 * The content janitor (X5), a job of the relay: deletes from the content store each reference the
 * content ledger (behavior.ts) emits on `content.delete` once every recipient of its message has a
 * final status. Idempotent: a reference already gone is not an error (a redelivered record after
 * a restart). A store that fails is retried a few times (1, 2, 4, 8 s); then the reference is
 * logged and left (stored bytes stay counted) rather than stopping the partition.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Bus, Subscription } from "../../shared/bus/types.ts";
import { ContentNotFoundError, type ContentStore } from "../../shared/content/store.ts";
import type { Logger } from "../../shared/log.ts";
import { CONTENT_DELETE_TOPIC } from "./behavior.ts";

export const CONTENT_JANITOR_GROUP = "content.janitor";

export async function startContentJanitor(o: {
  bus: Bus;
  store: ContentStore;
  partitions: number;
  log?: Logger;
  onDeleted?(ref: string): void;
}): Promise<Subscription> {
  await o.bus.ensureTopics([{ name: CONTENT_DELETE_TOPIC, partitions: o.partitions }]);
  return o.bus.subscribe({
    group: CONTENT_JANITOR_GROUP,
    topics: [CONTENT_DELETE_TOPIC],
    fromBeginning: true,
    handler: async (r) => {
      const ref = new TextDecoder().decode(r.value);
      for (let attempt = 1; ; attempt++) {
        try {
          await o.store.delete(ref);
          break;
        } catch (e) {
          if (e instanceof ContentNotFoundError) break;
          if (attempt >= 5) {
            o.log?.error({ err: e, ref }, "content janitor: delete failed, content left in the store");
            return;
          }
          await sleep(1000 * 2 ** (attempt - 1));
        }
      }
      o.onDeleted?.(ref);
    },
    onError: (e) => o.log?.error({ err: e }, "content janitor error"),
  });
}
