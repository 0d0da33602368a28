/**
 * Success notices (U1): after a delete, a plan change or a team change, the page the browser is sent
 * to carries `?done=<what>&name=<subject>`; the frame shows the sentence once (assets/app.js then
 * drops the two parameters from the address, so a reload does not repeat it). A closed set of
 * sentences: the address names which one, never its words.
 */

export const NOTICES = {
  "domain-deleted": (n: string) => `Domain ${n} deleted: sending from it has stopped; its history stays.`,
  "user-deleted": (n: string) => `SMTP user ${n} deleted: its credentials no longer work.`,
  "member-removed": (n: string) => `${n} was removed from the team; their sessions have ended.`,
  "member-changed": (n: string) => `The role and permissions of ${n} are saved.`,
  "plan-upgraded": (n: string) => `Your plan is now ${n}: its quota applies at once.`,
  "plan-downgraded": (n: string) => `Your plan changes to ${n} at the start of the next period.`,
  "plan-kept": (n: string) => `You keep the ${n} plan: the scheduled change is withdrawn.`,
  "service-cancelled": (_: string) => "Your cancellation is recorded: what happens next is below.",
} as const;

export type NoticeKind = keyof typeof NOTICES;

/** The link that shows a notice on `path`. */
export function noticeHref(path: string, done: NoticeKind, name = ""): string {
  const q = new URLSearchParams({ done });
  if (name) q.set("name", name);
  return `${path}?${q}`;
}

/** The sentence the address asks for, or undefined (no notice, or one this page does not know). */
export function noticeOf(url: URL): string | undefined {
  const done = url.searchParams.get("done") ?? "";
  if (!Object.hasOwn(NOTICES, done)) return undefined;
  return NOTICES[done as NoticeKind]((url.searchParams.get("name") ?? "").slice(0, 320));
}
