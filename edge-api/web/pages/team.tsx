/** @jsxImportSource hono/jsx */
/**
 * Team (C2, U1): members with their role and permissions; add a member (administrator, regular
 * user, or custom user with chosen permissions in words — "Access SMTP activities"...; without a
 * password one is generated and shown once); change a member's role and permissions; remove a
 * member. The API decides: its refusals (e.g. `last_admin`) show as its own sentence.
 */
import { PERMISSIONS, ROLES } from "../../../shared/model/account/protocol.ts";
import { ConfirmForm } from "../components/confirm-form.tsx";
import { CopyValue } from "../components/copy-value.tsx";
import {
  PERMISSION_LABELS,
  permissionLabel,
  ROLE_HINTS,
  ROLE_LABELS,
  roleLabel,
} from "../components/permission-labels.ts";
import { accountTimezone, day } from "../components/settings-format.ts";
import { ShownOncePanel } from "../components/shown-once.tsx";
import { noticeHref } from "../notices.ts";
import type { PageHandler } from "../page.ts";
import type { Member } from "../types.ts";

export const teamPage: PageHandler = async ({ api, me }) => {
  const [{ members }, tz] = await Promise.all([
    api.get<{ members: Member[] }>("/members"),
    accountTimezone(api),
  ]);
  return {
    title: "Team",
    body: (
      <>
        <div class="table-wrap cards-on-phone">
          <table class="members">
            <caption>Team members</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Permissions</th>
                <th scope="col">Added</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {members.map((m, index) => (
                <MemberRow m={m} self={m.email === me.email} tz={tz} index={index} />
              ))}
            </tbody>
          </table>
        </div>
        <section aria-labelledby="add-h">
          <h2 id="add-h">Add a member</h2>
          <form class="add-member" data-api="/v1/members" data-method="POST" data-then="show:#new-member">
            <label>
              Email
              <input name="email" type="email" autocomplete="off" required />
            </label>
            <RoleSelect selected="regular" id="add-role" />
            <PermissionBoxes checked={[]} legend="Permissions (custom users only)" />
            <label>
              Password (optional)
              <input
                name="password"
                type="password"
                autocomplete="new-password"
                minlength={10}
                aria-describedby="pw-hint"
              />
            </label>
            <p class="muted" id="pw-hint">
              Leave it empty to generate one: it is shown once.
            </p>
            <button type="submit" class="primary">
              Add member
            </button>
            <p class="error" role="alert" data-role="error" />
          </form>
          <ShownOncePanel id="new-member" title="Member added">
            <p>
              Email: <code data-field="email" />
            </p>
            <p class="generated">
              Generated password: <CopyValue id="new-member-password" what="password" field="password" />
            </p>
          </ShownOncePanel>
        </section>
      </>
    ),
  };
};

function MemberRow({ m, self, tz, index }: { m: Member; self: boolean; tz: string; index: number }) {
  const api = `/v1/members/${encodeURIComponent(m.email)}`;
  return (
    <tr data-member={m.email}>
      <th scope="row">
        <span class="addr" title={m.email}>
          {m.email}
        </span>
        {self ? <span class="muted"> (you)</span> : null}
      </th>
      <td data-label="Role">{roleLabel(m.role)}</td>
      <td data-label="Permissions">
        {m.role === "admin" ? (
          "All"
        ) : (
          <ul class="perms">
            {m.effectivePermissions.map((p) => (
              <li data-permission={p}>{permissionLabel(p)}</li>
            ))}
            {m.effectivePermissions.length === 0 ? <li class="muted">None</li> : null}
          </ul>
        )}
      </td>
      <td data-label="Added">{day(m.createdAt, tz)}</td>
      <td class="actions" data-label="Actions">
        <details>
          <summary>Change role</summary>
          <form
            data-api={api}
            data-method="PATCH"
            data-then={`goto:${noticeHref("/team", "member-changed", m.email)}`}
            aria-label={`Change ${m.email}`}
          >
            <RoleSelect selected={m.role} id={`role-${index}`} />
            <PermissionBoxes checked={m.permissions} legend="Permissions (custom users only)" />
            <button type="submit">Save</button>
            <p class="error" role="alert" data-role="error" />
          </form>
        </details>
        <ConfirmForm
          api={api}
          method="DELETE"
          question={`Remove ${m.email} from the team? Their sessions end at once.`}
          label="Remove"
          then={`goto:${noticeHref("/team", "member-removed", m.email)}`}
        />
      </td>
    </tr>
  );
}

/** A select named by its own label ("Role"), not by the options' text. */
function RoleSelect({ selected, id }: { selected: string; id: string }) {
  return (
    <div class="field">
      <label for={id}>Role</label>
      <select id={id} name="role">
        {ROLES.map((r) => (
          <option value={r} selected={r === selected}>
            {ROLE_LABELS[r]}: {ROLE_HINTS[r]}
          </option>
        ))}
      </select>
    </div>
  );
}

function PermissionBoxes({ checked, legend }: { checked: readonly string[]; legend: string }) {
  return (
    <fieldset class="perms">
      <legend>{legend}</legend>
      {PERMISSIONS.map((p) => (
        <label class="check">
          <input type="checkbox" name="permissions" value={p} data-array checked={checked.includes(p)} />{" "}
          {PERMISSION_LABELS[p]}
        </label>
      ))}
    </fieldset>
  );
}
