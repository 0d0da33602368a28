/**
 * The one gateway to an account's monthly quota (S8): reservation and release are turns of the
 * account actor (`account:<id>`), so concurrent sessions on any node can never overshoot. Ingress
 * (through its AccountPort) and the control plane (AccountService) both go through it.
 */
import type { AccountReply, QuotaGrant } from "../../shared/model/account/protocol.ts";
import { accountKey } from "../keys.ts";
import type { ActorSystem } from "../system.ts";
import { AccountError } from "./errors.ts";

export class QuotaGateway {
  constructor(
    private readonly actors: Pick<ActorSystem, "ask">,
    private readonly askTimeoutMs?: number,
  ) {}

  /** Reserves up to `n` recipients; a test (S14) recipient reserves nothing but is counted apart. */
  reserve(accountId: string, n: number, opts: { test?: boolean } = {}): Promise<QuotaGrant> {
    return this.ask(accountId, { t: "reserveQuota", n, ...(opts.test ? { test: true } : {}) });
  }

  /** Gives `n` back to the period it was reserved in (`periodStart`, when known). */
  release(accountId: string, n: number, periodStart?: number): Promise<QuotaGrant> {
    return this.ask(accountId, {
      t: "releaseQuota",
      n,
      ...(periodStart !== undefined ? { periodStart } : {}),
    });
  }

  private async ask(accountId: string, msg: unknown): Promise<QuotaGrant> {
    const r = await this.actors.ask<AccountReply<QuotaGrant>>(accountKey(accountId), msg, this.askTimeoutMs);
    if (!r.ok) throw new AccountError(r.code, r.message);
    return r.value;
  }
}
