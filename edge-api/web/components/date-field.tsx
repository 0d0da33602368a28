/** @jsxImportSource hono/jsx */
/**
 * A calendar day typed as an ISO date (`2026-11-22`), the way every date on these pages reads. A
 * browser's `type="date"` would show it in the browser's locale (`11/22/2026` in en-US) beside ISO
 * dates everywhere else, so this is a text field with the pattern and the format in its label.
 */

export function DateField(p: { label: string; name: string; value: string; required?: boolean }) {
  return (
    <label class="date-field">
      {p.label} <span class="muted format">(YYYY-MM-DD)</span>
      <input
        type="text"
        name={p.name}
        value={p.value}
        inputmode="numeric"
        pattern="\d{4}-\d{2}-\d{2}"
        placeholder="YYYY-MM-DD"
        maxlength={10}
        size={10}
        autocomplete="off"
        title="A date as YYYY-MM-DD, e.g. 2026-11-22"
        required={p.required}
      />
    </label>
  );
}
