/** Types of dkim-thread.js (plain JS so a worker thread loads it without a TypeScript loader). */
interface One {
  message: Uint8Array;
  options: Record<string, unknown>;
}
interface Signed {
  signatures: string;
  errors: string[];
  parses: number;
  fastCanon: boolean;
  direct: boolean;
}
export default function sign(task: One): Promise<Signed>;
export default function sign(task: { batch: One[] }): Promise<Signed[]>;
