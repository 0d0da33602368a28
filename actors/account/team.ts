/**
 * Members (C2), SMTP users (C3) and API keys (C5). Hashes arrive already computed (the service
 * hashes outside the actor); the directory picks the changes up after each transition, so a
 * reset or deleted SMTP user stops working at once everywhere.
 */
import { isPermission, isRole, isScope } from "../../shared/model/account/permissions.ts";
import {
  type AccountMsg,
  type AccountState,
  type Member,
  type Permission,
  ROLES,
  type Role,
} from "../../shared/model/account/protocol.ts";
import { fail, type Handler, ok, withEntry } from "./state.ts";

type Msg<T extends AccountMsg["t"]> = Extract<AccountMsg, { t: T }>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(email: unknown): string | undefined {
  if (typeof email !== "string") return undefined;
  const e = email.trim().toLowerCase();
  return EMAIL.test(e) && e.length <= 254 ? e : undefined;
}

/** Custom members keep their chosen permissions; admin and regular hold theirs by role. */
function permissionsFor(role: Role, given: unknown): Permission[] | undefined {
  if (role !== "custom") return [];
  if (!Array.isArray(given) || !given.every((p) => typeof p === "string" && isPermission(p)))
    return undefined;
  return [...new Set(given as Permission[])];
}

const admins = (members: Record<string, Member>) =>
  Object.values(members).filter((m) => m.role === "admin").length;

export const addMember: Handler<Msg<"addMember">> = (s, msg, ctx) => {
  const email = normalizeEmail(msg.email);
  if (!email) return fail(ctx, s, "invalid_request", "invalid email address");
  if (!isRole(msg.role)) return fail(ctx, s, "invalid_request", `role is one of ${ROLES.join(", ")}`);
  const permissions = permissionsFor(msg.role, msg.permissions ?? []);
  if (!permissions) return fail(ctx, s, "invalid_request", "unknown permission");
  if (s.members[email]) return fail(ctx, s, "member_exists", `${email} is a member already`);
  const member: Member = {
    email,
    role: msg.role,
    permissions,
    ...(msg.passwordHash !== undefined ? { passwordHash: msg.passwordHash } : {}),
    createdAt: ctx.now,
  };
  return ok(ctx, { ...s, members: withEntry(s.members, email, member) }, member);
};

export const updateMember: Handler<Msg<"updateMember">> = (s, msg, ctx) => {
  const email = normalizeEmail(msg.email);
  const old = email ? s.members[email] : undefined;
  if (!email || !old) return fail(ctx, s, "member_not_found", `no member ${msg.email}`);
  const role = msg.role ?? old.role;
  if (!isRole(role)) return fail(ctx, s, "invalid_request", `role is one of ${ROLES.join(", ")}`);
  const permissions = permissionsFor(role, msg.permissions ?? old.permissions);
  if (!permissions) return fail(ctx, s, "invalid_request", "unknown permission");
  if (old.role === "admin" && role !== "admin" && admins(s.members) === 1) {
    return fail(ctx, s, "last_admin", "the account's last administrator cannot lose the role");
  }
  const member: Member = {
    ...old,
    role,
    permissions,
    ...(msg.passwordHash !== undefined ? { passwordHash: msg.passwordHash } : {}),
  };
  return ok(ctx, { ...s, members: withEntry(s.members, email, member) }, member);
};

export const removeMember: Handler<Msg<"removeMember">> = (s, msg, ctx) => {
  const email = normalizeEmail(msg.email);
  const old = email ? s.members[email] : undefined;
  if (!email || !old) return fail(ctx, s, "member_not_found", `no member ${msg.email}`);
  if (old.role === "admin" && admins(s.members) === 1) {
    return fail(ctx, s, "last_admin", "the account's last administrator cannot be removed");
  }
  return ok(ctx, { ...s, members: withEntry(s.members, email, undefined) }, null);
};

const validHash = (h: unknown): h is string => typeof h === "string" && h.length > 0;

export const createSmtpUser: Handler<Msg<"createSmtpUser">> = (s, msg, ctx) => {
  if (typeof msg.username !== "string" || !/^[A-Za-z0-9._-]{3,64}$/.test(msg.username)) {
    return fail(ctx, s, "invalid_request", "invalid username");
  }
  if (!validHash(msg.passwordHash)) return fail(ctx, s, "invalid_request", "missing password hash");
  if (s.smtpUsers[msg.username]) return fail(ctx, s, "smtp_user_exists", `SMTP user ${msg.username} exists`);
  const name = typeof msg.name === "string" && msg.name.trim() ? msg.name.trim() : msg.username;
  const user = {
    username: msg.username,
    name,
    passwordHash: msg.passwordHash,
    createdAt: ctx.now,
    generation: 1,
  };
  return ok(ctx, { ...s, smtpUsers: withEntry(s.smtpUsers, msg.username, user) }, user);
};

export const resetSmtpUser: Handler<Msg<"resetSmtpUser">> = (s, msg, ctx) => {
  const old = s.smtpUsers[msg.username];
  if (!old) return fail(ctx, s, "smtp_user_not_found", `no SMTP user ${msg.username}`);
  if (!validHash(msg.passwordHash)) return fail(ctx, s, "invalid_request", "missing password hash");
  const user = { ...old, passwordHash: msg.passwordHash, generation: old.generation + 1 };
  return ok(ctx, { ...s, smtpUsers: withEntry(s.smtpUsers, msg.username, user) }, user);
};

export const deleteSmtpUser: Handler<Msg<"deleteSmtpUser">> = (s, msg, ctx) => {
  if (!s.smtpUsers[msg.username]) return fail(ctx, s, "smtp_user_not_found", `no SMTP user ${msg.username}`);
  return ok(ctx, { ...s, smtpUsers: withEntry(s.smtpUsers, msg.username, undefined) }, null);
};

export const createApiKey: Handler<Msg<"createApiKey">> = (s, msg, ctx) => {
  const k = msg.key;
  if (!k || typeof k.id !== "string" || !/^[a-z0-9]{4,64}$/.test(k.id) || !validHash(k.hash)) {
    return fail(ctx, s, "invalid_request", "invalid API key");
  }
  if (!Array.isArray(k.scopes) || !k.scopes.every((x) => typeof x === "string" && isScope(x))) {
    return fail(ctx, s, "invalid_request", "unknown scope");
  }
  if (s.apiKeys[k.id]) return fail(ctx, s, "invalid_request", `API key ${k.id} exists`);
  const key = {
    id: k.id,
    label: typeof k.label === "string" ? k.label : "",
    hash: k.hash,
    scopes: [...new Set(k.scopes)],
    createdAt: ctx.now,
  };
  return ok(ctx, { ...s, apiKeys: withEntry(s.apiKeys, k.id, key) }, key);
};

export const revokeApiKey: Handler<Msg<"revokeApiKey">> = (s, msg, ctx) => {
  const old = s.apiKeys[msg.id];
  if (!old) return fail(ctx, s, "api_key_not_found", `no API key ${msg.id}`);
  if (old.revokedAt !== undefined) return ok(ctx, s, old);
  const key = { ...old, revokedAt: ctx.now };
  return ok(ctx, { ...s, apiKeys: withEntry(s.apiKeys, msg.id, key) } satisfies AccountState, key);
};
