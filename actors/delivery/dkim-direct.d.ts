/** Types of dkim-direct.js (plain JS: the DKIM signing thread loads it without a TypeScript loader). */
export interface DirectSignResult {
  signatures: string;
  arc: unknown;
  errors: unknown[];
  /** mailauth's stream was skipped (a CRLF-only message with a blank line after its header). */
  direct: boolean;
}
export function compatible(): boolean;
export function sign(message: Buffer, options: unknown): Promise<DirectSignResult>;
