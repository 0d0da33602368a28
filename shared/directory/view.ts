/**
 * The directory view of one node: the `directory` topic folded into an in-memory map, so that
 * ingress and the API authenticate and check senders with synchronous lookups (issue 3 item 2).
 *
 * Start, follow and read barrier as every compacted-topic view (shared/bus/compacted-view.ts):
 * `ready()` replays the topic to its end, then a consumer group of its own that never commits
 * follows it; records at or below the offset already applied are skipped, so an entry never
 * moves back in time.
 */
import { CompactedTopicView } from "../bus/compacted-view.ts";
import type { Bus, BusRecord } from "../bus/types.ts";
import {
  type AccountEntry,
  type ApiKeyEntry,
  accountEntryKey,
  apiKeyKey,
  DIRECTORY_TOPIC_SPEC,
  type DirectoryEntry,
  decodeEntry,
  type MemberEntry,
  memberKey,
  type SendingDomainEntry,
  type SmtpUserEntry,
  sendingDomainKey,
  smtpUserKey,
} from "./entries.ts";

export interface DirectoryViewOptions {
  bus: Bus;
  nodeId: string;
  onError?(error: unknown): void;
}

/** How long `sync()` waits by default for the view to catch up before answering false. */
export const SYNC_TIMEOUT_MS = 1_000;

export type DirectoryListener = (key: string, entry: DirectoryEntry | undefined) => void;

export class DirectoryView {
  private readonly entries = new Map<string, DirectoryEntry>();
  /** Member keys by lower-case email: sign-in knows the email, not the account. */
  private readonly byEmail = new Map<string, Set<string>>();
  private readonly listeners = new Set<DirectoryListener>();
  private readonly topic: CompactedTopicView;

  constructor(private readonly o: DirectoryViewOptions) {
    this.topic = new CompactedTopicView({
      bus: o.bus,
      topic: DIRECTORY_TOPIC_SPEC,
      groupPrefix: `directory-view.${o.nodeId}`,
      fold: (r) => this.fold(r),
      onError: (e) => o.onError?.(e),
    });
  }

  /** Opens a view and waits for its initial read. */
  static async open(o: DirectoryViewOptions): Promise<DirectoryView> {
    const view = new DirectoryView(o);
    await view.ready();
    return view;
  }

  /** Resolves once the topic has been read up to its end as of the start. Starts the view. */
  ready(): Promise<void> {
    return this.topic.ready();
  }

  smtpUser(username: string): SmtpUserEntry | undefined {
    return this.get(smtpUserKey(username), "smtp-user");
  }

  account(accountId: string): AccountEntry | undefined {
    return this.get(accountEntryKey(accountId), "account");
  }

  apiKey(keyId: string): ApiKeyEntry | undefined {
    return this.get(apiKeyKey(keyId), "api-key");
  }

  member(accountId: string, email: string): MemberEntry | undefined {
    return this.get(memberKey(accountId, email), "member");
  }

  /** Every membership of an email address, across accounts. */
  membersByEmail(email: string): MemberEntry[] {
    const keys = this.byEmail.get(email.toLowerCase()) ?? new Set<string>();
    return [...keys].map((k) => this.entries.get(k)).filter((e): e is MemberEntry => e?.kind === "member");
  }

  sendingDomain(domain: string): SendingDomainEntry | undefined {
    return this.get(sendingDomainKey(domain), "sending-domain");
  }

  sendingDomains(): SendingDomainEntry[] {
    return this.all("sending-domain");
  }

  accounts(): AccountEntry[] {
    return this.all("account");
  }

  /** S7: may this account send from `domain` (a verified domain of an account allowed to send)? */
  maySendFrom(accountId: string, domain: string): boolean {
    const a = this.account(accountId);
    return !!a && a.sendingAllowed && a.verifiedDomains.includes(domain.toLowerCase());
  }

  /** Called after each change (set or tombstone); returns the unsubscribe function. */
  onChange(listener: DirectoryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves true as soon as `predicate()` holds, false after `timeoutMs` without it. */
  waitFor(predicate: () => boolean, timeoutMs = 1_000): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        off();
        resolve(ok);
      };
      const off = this.onChange(() => {
        if (predicate()) done(true);
      });
      const timer = setTimeout(() => done(predicate()), timeoutMs);
      timer.unref?.();
    });
  }

  /**
   * Read barrier (S2, X2): resolves true once this view has applied every directory record that
   * was published — by any node — before the call, false after `timeoutMs` without it. Account
   * actors publish their directory records before they answer (actors/behavior.ts), so a change
   * the API acknowledged anywhere is in the view once this resolves true. Cost: one end-offset
   * request (Kafka ListOffsets; a memory read on the embedded log), shared by concurrent callers.
   */
  sync(timeoutMs = SYNC_TIMEOUT_MS): Promise<boolean> {
    return this.topic.sync(timeoutMs);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.topic.close();
  }

  /** Applies one record (the base skips offsets already applied), then tells the listeners. */
  private fold(r: BusRecord): void {
    const entry = decodeEntry(r.value);
    const before = this.entries.get(r.key);
    if (before?.kind === "member") this.byEmail.get(before.email.toLowerCase())?.delete(r.key);
    if (entry) {
      this.entries.set(r.key, entry);
      if (entry.kind === "member") {
        const email = entry.email.toLowerCase();
        const keys = this.byEmail.get(email) ?? new Set<string>();
        keys.add(r.key);
        this.byEmail.set(email, keys);
      }
    } else {
      this.entries.delete(r.key);
    }
    for (const l of this.listeners) {
      try {
        l(r.key, entry);
      } catch (e) {
        this.o.onError?.(e);
      }
    }
  }

  private get<K extends DirectoryEntry["kind"]>(
    key: string,
    kind: K,
  ): Extract<DirectoryEntry, { kind: K }> | undefined {
    const e = this.entries.get(key);
    return e?.kind === kind ? (e as Extract<DirectoryEntry, { kind: K }>) : undefined;
  }

  private all<K extends DirectoryEntry["kind"]>(kind: K): Extract<DirectoryEntry, { kind: K }>[] {
    return [...this.entries.values()].filter(
      (e): e is Extract<DirectoryEntry, { kind: K }> => e.kind === kind,
    );
  }
}
