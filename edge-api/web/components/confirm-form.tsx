/** @jsxImportSource hono/jsx */
/**
 * A destructive action (delete a domain, an SMTP user, a member; cancel the service) as a form that
 * asks first (`data-confirm`, assets/app.js) and shows the API's sentence when it refuses.
 */

export interface ConfirmFormProps {
  api: string;
  method: "DELETE" | "POST";
  question: string;
  label: string;
  /** `data-then` of app.js: reload, goto:/path. */
  then: string;
  inline?: boolean;
}

export function ConfirmForm(p: ConfirmFormProps) {
  return (
    <form
      class={p.inline ? "inline" : undefined}
      data-api={p.api}
      data-method={p.method}
      data-confirm={p.question}
      data-then={p.then}
    >
      <button type="submit" class="danger">
        {p.label}
      </button>
      <p class="error" role="alert" data-role="error" />
    </form>
  );
}
