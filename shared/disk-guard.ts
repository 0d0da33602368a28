/**
 * The free-space floor (issue 17, S11; Postfix's `queue_minfree`): the volumes the relay writes
 * accepted mail to — the data dir (embedded log, chDB, secrets) and, with the local content
 * store, the content directory — are measured with statfs every `intervalMs` on the injected
 * clock. While any of them has less than `floorBytes` available to the relay, `ok` is false:
 * ingress refuses new messages with `452 4.3.1` and the space left stays for what is already
 * accepted (delivery, bounces, status events, the log). Accepting resumes at the first check
 * that finds space again. A failed write can ask for a check at once (`check()`).
 */
import { statfs } from "node:fs/promises";
import type { Logger } from "./log.ts";

export interface DiskVolume {
  /** `data` or `content`: the label of its metrics and its /readyz entry. */
  name: string;
  path: string;
}

export interface VolumeStatus {
  volume: string;
  path: string;
  /** Bytes available to the relay (statfs `bavail × bsize`); -1 before the first measure. */
  freeBytes: number;
  floorBytes: number;
  ok: boolean;
}

/** The relay's clock, as far as the guard needs it (actors/clock.ts's Clock fits). */
export interface GuardClock {
  now(): number;
  schedule(at: number, fn: () => void): { readonly id: number };
  cancel(handle: { readonly id: number }): void;
}

/** Bytes available on the volume holding `path`. */
export type FreeBytes = (path: string) => Promise<number>;

export const statfsFreeBytes: FreeBytes = async (path) => {
  const s = await statfs(path);
  return s.bavail * s.bsize;
};

export interface DiskGuardOptions {
  volumes: DiskVolume[];
  floorBytes: number;
  intervalMs: number;
  clock: GuardClock;
  log?: Logger;
  /** statfs unless given (unit tests). */
  freeBytes?: FreeBytes;
}

export class DiskGuard {
  private statuses: VolumeStatus[];
  private timer: { readonly id: number } | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly o: DiskGuardOptions) {
    this.statuses = o.volumes.map((v) => ({
      volume: v.name,
      path: v.path,
      freeBytes: -1,
      floorBytes: o.floorBytes,
      ok: true,
    }));
  }

  /** Measures once, then every `intervalMs`. */
  async start(): Promise<void> {
    await this.check();
    this.arm();
  }

  /** False while any volume is below the floor. */
  get ok(): boolean {
    return this.statuses.every((s) => s.ok);
  }

  status(): VolumeStatus[] {
    return this.statuses.map((s) => ({ ...s }));
  }

  /** Measures now (one measure at a time: a call during one waits for it). */
  check(): Promise<void> {
    this.checking ??= this.measure().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  close(): void {
    this.closed = true;
    if (this.timer) this.o.clock.cancel(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.closed) return;
    this.timer = this.o.clock.schedule(this.o.clock.now() + this.o.intervalMs, () => {
      void this.check().finally(() => this.arm());
    });
  }

  private async measure(): Promise<void> {
    const free = this.o.freeBytes ?? statfsFreeBytes;
    const wasOk = this.ok;
    this.statuses = await Promise.all(
      this.statuses.map(async (s) => {
        try {
          const freeBytes = await free(s.path);
          return { ...s, freeBytes, ok: freeBytes >= s.floorBytes };
        } catch (e) {
          // a volume that cannot be measured keeps its last state
          this.o.log?.warn({ err: e, path: s.path }, "disk guard: statfs failed");
          return s;
        }
      }),
    );
    if (wasOk !== this.ok) {
      const volumes = this.statuses.filter((s) => !s.ok).map((s) => s.volume);
      if (this.ok)
        this.o.log?.info({ disk: this.statuses }, "disk space is back above the floor: accepting mail");
      else
        this.o.log?.error(
          { disk: this.statuses, volumes },
          "disk space below the floor: refusing new mail (452 4.3.1)",
        );
    }
  }
}
