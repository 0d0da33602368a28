/** Team members (C2): administrators, regular members, custom members with named permissions. */
import { randomId } from "../../auth/sessions.ts";
import { accountOp } from "../op.ts";
import { AddMemberBody, EmailParam, MemberList, MemberSchema, UpdateMemberBody } from "../schemas.ts";

const tag = "members";
const requirement = { who: "account", member: "members", scope: null, plan: false } as const;

export const memberOps = [
  accountOp({
    id: "members.list",
    tag,
    summary: "Team members",
    method: "get",
    path: "/members",
    status: 200,
    response: MemberList,
    requirement,
    admin: true,
    run: async ({ control, accountId }) => ({ members: await control.accounts.listMembers(accountId) }),
  }),
  accountOp({
    id: "members.add",
    tag,
    summary: "Add a member; without a password one is generated and shown once",
    method: "post",
    path: "/members",
    body: AddMemberBody,
    status: 201,
    response: MemberSchema,
    requirement,
    admin: true,
    run: async ({ control, accountId, body }) => {
      const password = body.password ?? randomId(18);
      const member = await control.accounts.addMember(accountId, {
        email: body.email,
        role: body.role,
        permissions: body.permissions ?? [],
        password,
      });
      return body.password === undefined ? { ...member, password } : member;
    },
  }),
  accountOp({
    id: "members.update",
    tag,
    summary: "Change a member's role, permissions or password",
    method: "patch",
    path: "/members/{email}",
    params: EmailParam,
    body: UpdateMemberBody,
    status: 200,
    response: MemberSchema,
    requirement,
    admin: true,
    run: async ({ control, accountId, params, body, principal }) => {
      const member = await control.accounts.updateMember(accountId, params.email, body);
      // A new password ends the member's other sessions; a role change applies on the next request.
      if (body.password !== undefined) {
        const keep = principal.kind === "member" ? principal.sessionId : undefined;
        await control.sessions.passwordChanged(accountId, params.email, keep);
      }
      return member;
    },
  }),
  accountOp({
    id: "members.remove",
    tag,
    summary: "Remove a member (its sessions end at once)",
    method: "delete",
    path: "/members/{email}",
    params: EmailParam,
    status: 204,
    requirement,
    admin: true,
    run: async ({ control, accountId, params }) => {
      // Its sessions end on their next use: the member is no longer there (actors/session).
      await control.accounts.removeMember(accountId, params.email);
    },
  }),
];
