/** @jsxImportSource hono/jsx */
/**
 * A value to paste elsewhere (a DNS record, a username, a password shown once) with its copy
 * button: assets/app.js copies the text of the element named by `data-copy`. The button's name
 * says what it copies ("Copy DKIM 1 value"). A long value is cut with an ellipsis on one line
 * (app.css), whole in its `title` and in the copy.
 */

export interface CopyValueProps {
  /** Unique in the page. */
  id: string;
  /** What is copied, for the button's accessible name. */
  what: string;
  /** The value; absent for a slot filled in the browser (`data-field`, secrets shown once). */
  value?: string;
  field?: string;
}

export function CopyValue(p: CopyValueProps) {
  return (
    <span class="copy-value">
      <code id={p.id} data-field={p.field} title={p.value}>
        {p.value ?? ""}
      </code>{" "}
      <button type="button" class="copy" data-copy={`#${p.id}`} aria-label={`Copy ${p.what}`}>
        Copy
      </button>
    </span>
  );
}
