/**
 * Outbound SMTP connections (D2) through nodemailer's SMTP client, reused per MX address and
 * capped per recipient domain: idle connections count against the domain's limit, so a remote
 * server never sees more than the domain's concurrency (D5) from this node.
 */
import SMTPConnection from "nodemailer/lib/smtp-connection";

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
}

export interface Lease {
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
  private readonly open = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();
  /** Idempotent "this connection no longer counts" per connection. */
  private readonly drops = new Map<SMTPConnection, () => void>();
  private closed = false;

  constructor(private readonly o: PoolOptions) {}

  /** A connection to `ip:port` (TLS name `host`) for `domain`, at most `limit` open per domain. */
  async acquire(domain: string, host: string, ip: string, port: number, limit: number): Promise<Lease> {
    const key = `${domain}|${ip}:${port}`;
    for (;;) {
      const idle = this.idle.get(key)?.pop();
      if (idle) {
        clearTimeout(idle.timer);
        if (!(idle.conn as unknown as { _destroyed?: boolean })._destroyed)
          return this.lease(domain, key, idle.conn);
        this.drops.get(idle.conn)?.();
        continue;
      }
      if ((this.open.get(domain) ?? 0) < limit) break;
      // Full: close an idle connection of this domain to another MX, else wait for a release.
      if (this.closeOneIdle(domain)) continue;
      await new Promise<void>((resolve) =>
        this.waiters.set(domain, [...(this.waiters.get(domain) ?? []), resolve]),
      );
    }
    this.open.set(domain, (this.open.get(domain) ?? 0) + 1);
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
        this.dropped(domain);
      }
    };
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

  private lease(domain: string, key: string, conn: SMTPConnection): Lease {
    let done = false;
    return {
      conn,
      release: (broken) => {
        if (done) return;
        done = true;
        if (broken || this.closed) {
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

  private dropped(domain: string): void {
    this.open.set(domain, Math.max(0, (this.open.get(domain) ?? 1) - 1));
    this.wake(domain);
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
