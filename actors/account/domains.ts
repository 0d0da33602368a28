/**
 * Sending domains, the actor's side (C4): the keys and records arrive built by shared/domains;
 * here they are stored, their per-record DNS results folded in, trusted by an operator (O4),
 * deleted, and re-checked every `reverifyHours` by asking the domain worker through
 * `domain.verify`. A domain is verified when all three records are (or it is trusted); a
 * verified domain whose re-check fails becomes `failed` and stops sending (S7).
 */

import { DomainNameError, normalizeDomain as normalizeSendingDomain } from "../../shared/domains/records.ts";
import {
  type AccountMsg,
  DNS_RECORD_KINDS,
  type DomainRecordState,
  type SendingDomain,
} from "../../shared/model/account/protocol.ts";
import { DOMAIN_VERIFY_TOPIC, type DomainVerifyRequest } from "../../shared/model/account/topics.ts";
import {
  type AccountBehaviorOptions,
  type Ctx,
  emitEvent,
  emitJson,
  fail,
  type Handler,
  ok,
  TIMER,
  withEntry,
} from "./state.ts";

type Msg<T extends AccountMsg["t"]> = Extract<AccountMsg, { t: T }>;

/** The one domain-name rule (shared/domains/records.ts), as "normalised name or undefined". */
export function normalizeDomain(domain: unknown): string | undefined {
  if (typeof domain !== "string") return undefined;
  try {
    return normalizeSendingDomain(domain);
  } catch (e) {
    if (e instanceof DomainNameError) return undefined;
    throw e;
  }
}

/** The domain status its records (and its history) give. */
export function domainStatus(
  d: Pick<SendingDomain, "records" | "trusted" | "verifiedAt">,
): SendingDomain["status"] {
  const all = DNS_RECORD_KINDS.every((k) => d.records.some((r) => r.kind === k && r.status === "verified"));
  if (all || d.trusted) return "verified";
  return d.verifiedAt !== undefined ? "failed" : "pending";
}

function validDomain(d: SendingDomain | undefined): string | undefined {
  if (!d || typeof d !== "object") return "missing domain";
  if (!normalizeDomain(d.domain)) return `invalid domain name ${JSON.stringify(d.domain)}`;
  if (!Array.isArray(d.dkim) || d.dkim.length !== 2) return "two DKIM keys are needed";
  if (!d.dkim.some((k) => k.selector === d.activeSelector))
    return "the active selector is not one of the DKIM keys";
  if (!Array.isArray(d.records) || !DNS_RECORD_KINDS.every((k) => d.records.some((r) => r.kind === k))) {
    return `records ${DNS_RECORD_KINDS.join(", ")} are needed`;
  }
  if (typeof d.returnPathHost !== "string" || !d.returnPathHost) return "missing return-path host";
  return undefined;
}

function armReverify(ctx: Ctx, o: AccountBehaviorOptions): void {
  if (!ctx.timers().has(TIMER.reverify)) {
    ctx.setTimer(TIMER.reverify, ctx.now + o.reverifyHours * 3_600_000, { t: "reverifyDue" });
  }
}

export const addDomain: Handler<Msg<"addDomain">> = (s, msg, ctx, o) => {
  const invalid = validDomain(msg.domain);
  if (invalid) return fail(ctx, s, "invalid_request", invalid);
  const name = normalizeDomain(msg.domain.domain) as string;
  if (s.domains[name])
    return fail(ctx, s, "domain_exists", `${name} is a sending domain of this account already`);
  const base: SendingDomain = { ...msg.domain, domain: name, addedAt: ctx.now, trusted: false };
  delete base.trustedBy;
  delete base.verifiedAt;
  const domain: SendingDomain = { ...base, status: domainStatus(base) };
  if (domain.status === "verified") domain.verifiedAt = ctx.now;
  armReverify(ctx, o);
  return ok(ctx, { ...s, domains: withEntry(s.domains, name, domain) }, domain);
};

export const domainChecked: Handler<Msg<"domainChecked">> = (s, msg, ctx) => {
  const name = normalizeDomain(msg.domain);
  const old = name ? s.domains[name] : undefined;
  if (!name || !old) return fail(ctx, s, "domain_not_found", `no sending domain ${msg.domain}`);
  if (!Array.isArray(msg.records)) return fail(ctx, s, "invalid_request", "records are needed");
  const at = Number.isFinite(msg.at) ? msg.at : ctx.now;
  const records: DomainRecordState[] = old.records.map((r) => {
    const got = msg.records.find((x) => x.kind === r.kind);
    return got
      ? {
          ...r,
          status: got.status,
          checkedAt: got.checkedAt ?? at,
          ...(got.detail !== undefined ? { detail: got.detail } : {}),
        }
      : r;
  });
  const status = domainStatus({ ...old, records });
  const domain: SendingDomain = { ...old, records, status, lastCheckAt: at };
  if (status === "verified" && old.status !== "verified") domain.verifiedAt = at;
  if (old.status === "verified" && status !== "verified") {
    emitEvent(ctx, "domain_lost_verification", {
      domain: name,
      records: records
        .filter((r) => r.status !== "verified")
        .map((r) => ({ kind: r.kind, status: r.status, detail: r.detail })),
    });
  }
  return ok(ctx, { ...s, domains: withEntry(s.domains, name, domain) }, domain);
};

export const trustDomain: Handler<Msg<"trustDomain">> = (s, msg, ctx) => {
  const name = normalizeDomain(msg.domain);
  const old = name ? s.domains[name] : undefined;
  if (!name || !old) return fail(ctx, s, "domain_not_found", `no sending domain ${msg.domain}`);
  const by = typeof msg.by === "string" && msg.by ? msg.by : "operator";
  const domain: SendingDomain = {
    ...old,
    trusted: true,
    trustedBy: by,
    status: "verified",
    verifiedAt: ctx.now,
  };
  emitEvent(ctx, "domain_trusted", { domain: name, by });
  return ok(ctx, { ...s, domains: withEntry(s.domains, name, domain) }, domain);
};

export const deleteDomain: Handler<Msg<"deleteDomain">> = (s, msg, ctx) => {
  const name = normalizeDomain(msg.domain);
  if (!name || !s.domains[name]) return fail(ctx, s, "domain_not_found", `no sending domain ${msg.domain}`);
  return ok(ctx, { ...s, domains: withEntry(s.domains, name, undefined) }, null);
};

export const reverifyDue: Handler<Msg<"reverifyDue">> = (s, _msg, ctx, o) => {
  if (s.status === "cancelled") return ok(ctx, s, null);
  const due = Object.values(s.domains).filter((d) => !d.trusted);
  for (const d of due)
    emitJson(ctx, DOMAIN_VERIFY_TOPIC, { accountId: s.id, domain: d.domain } satisfies DomainVerifyRequest);
  if (Object.keys(s.domains).length > 0) armReverify(ctx, o);
  return ok(ctx, s, null);
};
