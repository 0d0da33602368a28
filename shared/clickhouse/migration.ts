/** One schema migration of the analytics store (shared/clickhouse/migrations/NNNN_name.ts). */
export interface Migration {
  /** Positive integer, the NNNN of the file name; strictly increasing through `MIGRATIONS`. */
  version: number;
  /** The _name part of the file name: lower case letters, digits and _. */
  name: string;
  /** Run one by one with `client.command`, in order. */
  statements: readonly string[];
}
