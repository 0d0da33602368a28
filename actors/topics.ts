/** Bus topic names of the actor runtime, built in one place. */
import type { ActorType } from "./keys.ts";

export const inboxTopic = (type: ActorType) => `actor.${type}.inbox`;
export const stateTopic = (type: ActorType) => `actor.${type}.state`;
export const repliesTopic = (nodeId: string) => `actor.replies.${nodeId}`;
export const hostGroup = (type: ActorType) => `actor.${type}`;
