/**
 * A secret with its last character changed: always a different secret. Replacing the last
 * character with a fixed one is the same secret whenever the secret already ends with it
 * (1 time in 62 for a base62 key), which made a 401 check flaky.
 */
export function tampered(secret: string): string {
  const last = secret.at(-1);
  return `${secret.slice(0, -1)}${last === "A" ? "B" : "A"}`;
}
