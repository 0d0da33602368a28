/** Types of dkim-thread.js (plain JS so a worker thread loads it without a TypeScript loader). */
export default function sign(task: {
  message: Uint8Array;
  options: Record<string, unknown>;
}): Promise<{ signatures: string; errors: string[]; parses: number }>;
