/** Types of dkim-canon.js (plain JS: the DKIM signing thread loads it without a TypeScript loader). */
interface RelaxedHashLike {
  update(chunk: Buffer | null, final?: boolean): void;
}
interface MessageParserLike {
  lastByte?: number;
}
export const original: {
  update(this: RelaxedHashLike, chunk: Buffer | null, final?: boolean): void;
  ensureLinebreaks(this: MessageParserLike, input: Buffer): Generator<Buffer>;
};
export function relaxedUpdate(this: RelaxedHashLike, chunk: Buffer | null, final?: boolean): void;
export function ensureLinebreaks(this: MessageParserLike, input: Buffer): Generator<Buffer>;
export function compatible(): boolean;
export function install(): boolean;
