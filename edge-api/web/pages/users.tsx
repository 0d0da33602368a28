/** @jsxImportSource hono/jsx */
/**
 * Users (C3, U1): the SMTP users applications sign in with. Create one (username generated, the
 * password shown once in a panel the server never renders), list them, open one for its
 * connection settings (seed 001: server, ports, encryption, username — from the API), reset its
 * password (the old one stops at once; the new one is shown once) and delete it.
 */
import { ConfirmForm } from "../components/confirm-form.tsx";
import { CopyValue } from "../components/copy-value.tsx";
import { accountTimezone, day } from "../components/settings-format.ts";
import { ShownOncePanel } from "../components/shown-once.tsx";
import { noticeHref } from "../notices.ts";
import type { PageHandler } from "../page.ts";
import type { SmtpUser } from "../types.ts";

const ENCRYPTION_WORDS: Record<"STARTTLS" | "TLS", string> = {
  STARTTLS: "STARTTLS (recommended)",
  TLS: "SMTPS, TLS from the start",
};

export const usersPage: PageHandler = async ({ api }) => {
  const [{ smtpUsers }, tz] = await Promise.all([
    api.get<{ smtpUsers: SmtpUser[] }>("/smtp-users"),
    accountTimezone(api),
  ]);
  return {
    title: "Users",
    body: (
      <>
        <p>
          Your application signs in to Petrel's SMTP server with an SMTP user: a generated username and a
          password shown only once, when the user is created or its password reset.
        </p>
        <form
          class="inline create-user"
          data-api="/v1/smtp-users"
          data-method="POST"
          data-then="show:#new-user"
        >
          <label>
            Name (optional)
            <input name="name" type="text" maxlength={100} placeholder="e.g. Web shop" autocomplete="off" />
          </label>
          <button type="submit" class="primary">
            Create an SMTP user
          </button>
          <p class="error" role="alert" data-role="error" />
        </form>
        <ShownOncePanel id="new-user" title="SMTP user created">
          <p>
            Username: <CopyValue id="new-user-username" what="username" field="username" />
          </p>
          <p>
            Password: <CopyValue id="new-user-password" what="password" field="password" />
          </p>
        </ShownOncePanel>
        {smtpUsers.length === 0 ? (
          <p class="empty">
            No SMTP user yet. Create one above, then give its username and password to your application with
            the connection settings on its page.
          </p>
        ) : (
          <div class="table-wrap">
            <table class="smtp-users">
              <caption>SMTP users</caption>
              <thead>
                <tr>
                  <th scope="col">Username</th>
                  <th scope="col">Name</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {smtpUsers.map((u) => (
                  <tr data-username={u.username}>
                    <th scope="row">
                      <a
                        href={`/users/${encodeURIComponent(u.username)}`}
                        aria-label={`View details of ${u.username}`}
                        class="addr"
                        title={u.username}
                      >
                        {u.username}
                      </a>
                    </th>
                    <td>{u.name}</td>
                    <td>{day(u.createdAt, tz)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </>
    ),
  };
};

/** PETREL_HOSTNAME unset: no name to give customers (never the machine's own name). */
function ServerNameMissing() {
  return (
    <p class="notice notice-warn" role="status" data-server-missing>
      The server name is not configured. Operator: set <code>PETREL_HOSTNAME</code> to the name your customers
      connect to (the name on the TLS certificate) and restart the relay.
    </p>
  );
}

export const userPage: PageHandler = async ({ api, params }) => {
  const path = `/smtp-users/${encodeURIComponent(params.username ?? "")}`;
  const [u, tz] = await Promise.all([api.get<SmtpUser>(path), accountTimezone(api)]);
  const ports = u.connection?.ports ?? [];
  return {
    title: u.name === u.username ? `SMTP user ${u.username}` : `SMTP user ${u.name}`,
    body: (
      <>
        <p>
          <a href="/users">All SMTP users</a> <span class="muted">· created {day(u.createdAt, tz)}</span>
        </p>
        <div class="table-wrap">
          <table class="connection">
            <caption>Connection settings</caption>
            <tbody>
              <tr>
                <th scope="row">SMTP server</th>
                <td>
                  {u.connection?.server ? (
                    <CopyValue id="conn-server" what="SMTP server" value={u.connection.server} />
                  ) : (
                    <ServerNameMissing />
                  )}
                </td>
              </tr>
              <tr>
                <th scope="row">Port</th>
                <td>
                  <ul class="ports">
                    {ports.map((p) => (
                      <li data-port={p.port}>
                        <code>{p.port}</code> {ENCRYPTION_WORDS[p.encryption]}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
              <tr>
                <th scope="row">Encryption</th>
                <td>TLS required: a connection without TLS is refused.</td>
              </tr>
              {u.connection?.certificate ? (
                <tr>
                  <th scope="row">Certificate SHA-256</th>
                  <td>
                    <CopyValue
                      id="conn-sha256"
                      what="certificate fingerprint"
                      value={u.connection.certificate.sha256}
                    />
                    {u.connection.certificate.selfSigned ? (
                      <p class="muted">
                        Self-signed: pin this fingerprint, or the certificate itself, in your client.
                      </p>
                    ) : null}
                  </td>
                </tr>
              ) : null}
              <tr>
                <th scope="row">Authentication</th>
                <td>PLAIN or LOGIN</td>
              </tr>
              <tr>
                <th scope="row">Username</th>
                <td>
                  <CopyValue id="conn-username" what="username" value={u.username} />
                </td>
              </tr>
              <tr>
                <th scope="row">Password</th>
                <td>
                  Shown only once, when the user was created or its password reset. Lost it? Reset it below.
                </td>
              </tr>
            </tbody>
          </table>
        </div>
        <section aria-labelledby="reset-h">
          <h2 id="reset-h">Reset the password</h2>
          <p>The current password stops working at once: update your application with the new one.</p>
          <form
            data-api={`/v1${path}/reset`}
            data-method="POST"
            data-confirm={`Reset the password of ${u.username}? The current one stops working at once.`}
            data-then="show:#reset-secret"
          >
            <button type="submit">Reset password</button>
            <p class="error" role="alert" data-role="error" />
          </form>
          <ShownOncePanel id="reset-secret" title="New password">
            <p class="notice notice-done" role="status">
              Password reset: the previous password no longer works.
            </p>
            <p>
              Password: <CopyValue id="reset-password" what="password" field="password" />
            </p>
          </ShownOncePanel>
        </section>
        <section aria-labelledby="delete-h" class="danger-zone">
          <h2 id="delete-h">Delete this SMTP user</h2>
          <p>Its credentials stop working at once and its open sessions are closed.</p>
          <ConfirmForm
            api={`/v1${path}`}
            method="DELETE"
            question={`Delete ${u.username}? Its credentials stop working at once.`}
            label="Delete SMTP user"
            then={`goto:${noticeHref("/users", "user-deleted", u.username)}`}
          />
        </section>
      </>
    ),
  };
};
