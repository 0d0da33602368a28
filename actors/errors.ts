/** Errors of the actor runtime, one class each so callers can map them once per surface. */
export class AskTimeoutError extends Error {
  override readonly name = "AskTimeoutError";
  constructor(
    readonly key: string,
    readonly timeoutMs: number,
  ) {
    super(`actor ${key} did not answer within ${timeoutMs} ms`);
  }
}

/** The actor's transition threw while handling an ask; its state did not change. */
export class ActorError extends Error {
  override readonly name = "ActorError";
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`actor ${key}: ${message}`);
  }
}

export class ActorSystemStoppedError extends Error {
  override readonly name = "ActorSystemStoppedError";
  constructor() {
    super("actor system is stopped");
  }
}
