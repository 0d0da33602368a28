/**
 * The directory view of one node: the `directory` topic folded into an in-memory map, so that
 * ingress and the API authenticate and check senders with synchronous lookups (issue 3 item 2).
 *
 * Start: replay the topic up to its end (that is `ready()`), then follow it through a consumer
 * group unique to this view that never commits, so every start reads the topic whole. Records
 * at or below the offset already applied per partition are skipped, so the follow-up
 * subscription (which starts from the beginning again) never moves an entry back in time.
 */
import { randomUUID } from "node:crypto";
import type { Bus, BusRecord, Subscription } from "../bus/types.ts";
import {
  type AccountEntry,
  type ApiKeyEntry,
  accountEntryKey,
  apiKeyKey,
  DIRECTORY_TOPIC,
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
  private readonly applied = new Map<number, number>();
  private readonly listeners = new Set<DirectoryListener>();
  private sub: Subscription | undefined;
  private starting: Promise<void> | undefined;
  /** The end-offset request in flight, and the one that callers arriving during it wait for. */
  private endsInFlight: Promise<number[]> | undefined;
  private endsNext: Promise<number[]> | undefined;
  private closed = false;

  constructor(private readonly o: DirectoryViewOptions) {}

  /** Opens a view and waits for its initial read. */
  static async open(o: DirectoryViewOptions): Promise<DirectoryView> {
    const view = new DirectoryView(o);
    await view.ready();
    return view;
  }

  /** Resolves once the topic has been read up to its end as of the start. Starts the view. */
  ready(): Promise<void> {
    this.starting ??= this.start();
    return this.starting;
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
  async sync(timeoutMs = SYNC_TIMEOUT_MS): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      (timer as { unref?: () => void }).unref?.();
    });
    const started = Date.now();
    try {
      const ends = await Promise.race([this.ready().then(() => this.ends()), late]);
      if (!ends) return false;
      return await this.waitFor(() => this.reached(ends), Math.max(0, timeoutMs - (Date.now() - started)));
    } catch (e) {
      this.o.onError?.(e);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.starting?.catch(() => undefined);
    await this.sub?.close();
    this.sub = undefined;
  }

  private async start(): Promise<void> {
    const { bus } = this.o;
    await bus.ensureTopics([DIRECTORY_TOPIC_SPEC]);
    const count = await bus.partitionCount(DIRECTORY_TOPIC);
    const partitions = Array.from({ length: count }, (_, i) => i);
    await bus.replay(DIRECTORY_TOPIC, partitions, (r) => this.apply(r));
    if (this.closed) return;
    this.sub = await bus.subscribe({
      group: `directory-view.${this.o.nodeId}.${randomUUID()}`,
      topics: [DIRECTORY_TOPIC],
      fromBeginning: true,
      autoCommit: false,
      handler: async (r) => this.apply(r),
      onError: (e) => this.o.onError?.(e),
    });
  }

  /** Has this view applied every record below `ends` (one end per partition)? */
  private reached(ends: number[]): boolean {
    return ends.every((end, p) => end === 0 || (this.applied.get(p) ?? -1) >= end - 1);
  }

  /**
   * The directory topic's ends, fetched at or after the call: a request already in flight may
   * have been answered before a change this caller must see, so a caller arriving during one
   * waits for the next, which every caller arriving meanwhile shares.
   */
  private ends(): Promise<number[]> {
    if (!this.endsInFlight) {
      const p = this.o.bus.endOffsets(DIRECTORY_TOPIC);
      this.endsInFlight = p;
      const done = () => {
        if (this.endsInFlight === p) this.endsInFlight = undefined;
      };
      p.then(done, done);
      return p;
    }
    this.endsNext ??= this.endsInFlight
      .catch(() => undefined)
      .then(() => {
        this.endsNext = undefined;
        return this.ends();
      });
    return this.endsNext;
  }

  private apply(r: BusRecord): void {
    const last = this.applied.get(r.partition) ?? -1;
    if (r.offset <= last) return;
    this.applied.set(r.partition, r.offset);
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
