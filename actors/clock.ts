/**
 * Time, injected. No actor reads the wall clock or sets a timer itself: the runtime hands it a
 * Clock, so that retry schedules are tested by advancing a ManualClock (xstate's Clock /
 * SimulatedClock).
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once at (or after) `at`; an `at` in the past fires on the next turn. */
  schedule(at: number, fn: () => void): TimerHandle;
  cancel(handle: TimerHandle): void;
}

/** The real clock. Long delays are chained because setTimeout overflows past ~24.8 days. */
export class SystemClock implements Clock {
  private next = 1;
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();

  now(): number {
    return Date.now();
  }

  schedule(at: number, fn: () => void): TimerHandle {
    const id = this.next++;
    const arm = () => {
      const delay = Math.max(0, at - Date.now());
      const t = setTimeout(
        () => {
          if (Date.now() < at) return arm();
          this.timers.delete(id);
          fn();
        },
        Math.min(delay, 2 ** 31 - 1),
      );
      t.unref?.();
      this.timers.set(id, t);
    };
    arm();
    return { id };
  }

  cancel(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t) clearTimeout(t);
    this.timers.delete(handle.id);
  }
}

/** A clock that moves only when told to: `advance(ms)` fires every timer due by then, in order. */
export class ManualClock implements Clock {
  private next = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  schedule(at: number, fn: () => void): TimerHandle {
    const id = this.next++;
    this.timers.set(id, { at, fn });
    return { id };
  }

  cancel(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Timers still waiting. */
  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in time order (each at its own instant). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.timers.delete(due[0]);
      this.current = Math.max(this.current, due[1].at);
      due[1].fn();
    }
    this.current = target;
  }
}
