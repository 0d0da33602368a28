/** Structured logs (X4): pino, JSON lines on stdout, one root logger passed down, children per component. */
import { type Logger, pino } from "pino";

export type { Logger };

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: "petrel", ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
