/** The few log calls the embedded log makes; pino's `logger.warn(obj, msg)` shape fits. */
export interface LogBusLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** Default: one JSON line per event on stderr (warnings and errors only). */
export const stderrLogger: LogBusLogger = {
  info() {},
  warn(fields, msg) {
    process.stderr.write(`${JSON.stringify({ level: "warn", component: "logbus", msg, ...fields })}\n`);
  },
  error(fields, msg) {
    process.stderr.write(`${JSON.stringify({ level: "error", component: "logbus", msg, ...fields })}\n`);
  },
};
