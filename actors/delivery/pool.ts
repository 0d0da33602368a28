/**
 * Outbound SMTP connections (D2) through nodemailer's SMTP client, reused per MX address and
 * capped per recipient domain: idle connections count against the domain's limit, so a remote
 * server never sees more than the domain's concurrency (D5) from this node.
 *
 * Each open connection holds a slot lease of its domain (shared/model/lease.ts, holder the MX
 * address), extended whenever it is handed out or returned idle and released when it ends. A
 * connection whose end was never seen stops counting after `leaseMs` instead of holding its slot
 * for the life of the process. The pool's timers are real (idle close, socket timeouts), so its
 * leases run on the wall clock too unless `now` is given.
 */
import SMTPConnection from "nodemailer/lib/smtp-connection";
import { LocalLeases } from "../../shared/model/lease.ts";
import { installDataStreamFastPath } from "./data-stream.ts";

export interface PoolOptions {
  /** Our name in EHLO. */
  name: string;
  connectionTimeoutMs: number;
  /** RFC 5321 §4.5.3.2: 5 min greeting, 5 min MAIL/RCPT, 10 min DATA end; one socket timeout here. */
  socketTimeoutMs: number;
  greetingTimeoutMs: number;
  /** How long an idle connection stays open for reuse. */
  idleMs: number;
  /** Accept any certificate (MTA-to-MTA STARTTLS is opportunistic). */
  rejectUnauthorized: boolean;
  /** TTL of a connection's slot from its last hand-out or return; default the domain's (10 min). */
  leaseMs?: number;
  now?: () => number;
}

const DEFAULT_LEASE_MS = 10 * 60_000;

/** A connection handed out by the pool; its slot is a lease the pool holds. */
export interface PooledConnection {
  conn: SMTPConnection;
  /** Returns the connection for reuse, or closes it when `broken`. */
  release(broken: boolean): void;
}

interface Idle {
  conn: SMTPConnection;
  timer: ReturnType<typeof setTimeout>;
}

/** Did the server offer this EHLO keyword (nodemailer keeps the list on the connection, untyped)? */
export function offers(conn: SMTPConnection, keyword: string): boolean {
  const ext = (conn as unknown as { _supportedExtensions?: string[] })._supportedExtensions;
  return Array.isArray(ext) && ext.includes(keyword.toUpperCase());
}

export class ConnectionPool {
  private readonly idle = new Map<string, Idle[]>();
  /** Open connections (in use or idle) per domain, one lease each. */
  private readonly slots: LocalLeases;
  /** The slot lease id of each open connection. */
  private readonly slotIds = new Map<SMTPConnection, string>();
  private nextSlot = 0;
  private readonly waiters = new Map<string, (() => void)[]>();
  /** Idempotent "this connection no longer counts" per connection. */
  private readonly drops = new Map<SMTPConnection, () => void>();
  private closed = false;

  /** Whether nodemailer's DATA encoder runs on data-stream.ts's fast path (false: a nodemailer it does not know). */
  readonly fastDataStream: boolean;

  constructor(private readonly o: PoolOptions) {
    this.slots = new LocalLeases(o.leaseMs ?? DEFAULT_LEASE_MS, o.now ?? Date.now);
    this.fastDataStream = installDataStreamFastPath();
  }

  /** Extends the slot of an open connection; false when it had lapsed (the connection no longer counts). */
  private extendSlot(domain: string, conn: SMTPConnection): boolean {
    const id = this.slotIds.get(conn);
    return id !== undefined && this.slots.extend(domain, id);
  }

  /** A connection to `ip:port` (TLS name `host`) for `domain`, at most `limit` open per domain. */
  async acquire(
    domain: string,
    host: string,
    ip: string,
    port: number,
    limit: number,
  ): Promise<PooledConnection> {
    const key = `${domain}|${ip}:${port}`;
    const slotId = `${key}#${++this.nextSlot}`;
    for (;;) {
      const idle = this.idle.get(key)?.pop();
      if (idle) {
        clearTimeout(idle.timer);
        const destroyed = (idle.conn as unknown as { _destroyed?: boolean })._destroyed;
        if (!destroyed && this.extendSlot(domain, idle.conn)) return this.lease(domain, key, idle.conn);
        this.drops.get(idle.conn)?.();
        if (!destroyed) idle.conn.quit(); // its slot lapsed: it no longer counts, so it goes
        continue;
      }
      if (this.slots.acquire(domain, slotId, `${ip}:${port}`, { total: limit })) break;
      // Full: close an idle connection of this domain to another MX, else wait for a release.
      if (this.closeOneIdle(domain)) continue;
      await new Promise<void>((resolve) =>
        this.waiters.set(domain, [...(this.waiters.get(domain) ?? []), resolve]),
      );
    }
    const conn = new SMTPConnection({
      host: ip,
      port,
      name: this.o.name,
      secure: false,
      opportunisticTLS: true,
      connectionTimeout: this.o.connectionTimeoutMs,
      greetingTimeout: this.o.greetingTimeoutMs,
      socketTimeout: this.o.socketTimeoutMs,
      tls: { servername: host, rejectUnauthorized: this.o.rejectUnauthorized },
    });
    let counted = true;
    const drop = () => {
      if (counted) {
        counted = false;
        this.drops.delete(conn);
        this.slotIds.delete(conn);
        this.slots.release(domain, slotId);
        this.wake(domain);
      }
    };
    this.slotIds.set(conn, slotId);
    this.drops.set(conn, drop);
    conn.once("end", drop);
    conn.on("error", () => {
      /* reported through the callbacks of the current command */
    });
    try {
      // nodemailer reports a failed connect through 'error' (or 'end'), not the callback.
      await new Promise<void>((resolve, reject) => {
        const fail = (err?: Error) => reject(err ?? new Error(`connection to ${ip}:${port} closed`));
        conn.once("error", fail);
        conn.once("end", () => fail());
        conn.connect(() => {
          conn.off("error", fail);
          resolve();
        });
      });
    } catch (e) {
      conn.close();
      drop();
      throw e;
    }
    return this.lease(domain, key, conn);
  }

  private lease(domain: string, key: string, conn: SMTPConnection): PooledConnection {
    let done = false;
    return {
      conn,
      release: (broken) => {
        if (done) return;
        done = true;
        if (broken || this.closed || !this.extendSlot(domain, conn)) {
          this.drops.get(conn)?.();
          conn.close();
          return;
        }
        const timer = setTimeout(() => {
          const list = this.idle.get(key) ?? [];
          this.idle.set(
            key,
            list.filter((i) => i.conn !== conn),
          );
          this.drops.get(conn)?.();
          conn.quit();
        }, this.o.idleMs);
        timer.unref?.();
        this.idle.set(key, [...(this.idle.get(key) ?? []), { conn, timer }]);
        this.wake(domain);
      },
    };
  }

  private closeOneIdle(domain: string): boolean {
    for (const [key, list] of this.idle) {
      if (!key.startsWith(`${domain}|`) || list.length === 0) continue;
      const i = list.shift() as Idle;
      clearTimeout(i.timer);
      this.drops.get(i.conn)?.();
      i.conn.quit();
      return true;
    }
    return false;
  }

  private wake(domain: string): void {
    const w = this.waiters.get(domain)?.shift();
    w?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const list of this.idle.values()) {
      for (const i of list) {
        clearTimeout(i.timer);
        i.conn.quit();
      }
    }
    this.idle.clear();
  }
}
