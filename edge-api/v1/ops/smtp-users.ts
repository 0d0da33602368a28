/** SMTP users (C3): generated username, password shown once, connection settings, reset, delete. */
import { accountOp } from "../op.ts";
import {
  CreatedSmtpUserSchema,
  CreateSmtpUserBody,
  SmtpCredentialsSchema,
  SmtpUserList,
  SmtpUserSchema,
  UsernameParam,
} from "../schemas.ts";

const tag = "smtp-users";
const requirement = { who: "account", member: "smtp.users", scope: "users:write", plan: true } as const;

export const smtpUserOps = [
  accountOp({
    id: "smtpUsers.list",
    tag,
    summary: "SMTP users",
    method: "get",
    path: "/smtp-users",
    status: 200,
    response: SmtpUserList,
    requirement,
    admin: true,
    run: async ({ control, accountId }) => ({ smtpUsers: await control.accounts.listSmtpUsers(accountId) }),
  }),
  accountOp({
    id: "smtpUsers.create",
    tag,
    summary: "Create an SMTP user: the username is generated, the password shown once",
    method: "post",
    path: "/smtp-users",
    body: CreateSmtpUserBody,
    status: 201,
    response: CreatedSmtpUserSchema,
    requirement,
    admin: true,
    run: ({ control, accountId, body }) =>
      control.accounts.createSmtpUser(accountId, body.name !== undefined ? { name: body.name } : {}),
  }),
  accountOp({
    id: "smtpUsers.get",
    tag,
    summary: "An SMTP user with its connection settings (server, ports, encryption, username)",
    method: "get",
    path: "/smtp-users/{username}",
    params: UsernameParam,
    status: 200,
    response: SmtpUserSchema,
    requirement,
    admin: true,
    run: ({ control, accountId, params }) => control.accounts.getSmtpUser(accountId, params.username),
  }),
  accountOp({
    id: "smtpUsers.reset",
    tag,
    summary: "Reset the password: the old one stops working at once; the new one is shown once",
    method: "post",
    path: "/smtp-users/{username}/reset",
    params: UsernameParam,
    status: 200,
    response: SmtpCredentialsSchema,
    requirement,
    admin: true,
    run: ({ control, accountId, params }) => control.accounts.resetSmtpUser(accountId, params.username),
  }),
  accountOp({
    id: "smtpUsers.delete",
    tag,
    summary: "Delete an SMTP user: its credentials stop working at once",
    method: "delete",
    path: "/smtp-users/{username}",
    params: UsernameParam,
    status: 204,
    requirement,
    admin: true,
    run: ({ control, accountId, params }) => control.accounts.deleteSmtpUser(accountId, params.username),
  }),
];
