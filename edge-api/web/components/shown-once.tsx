/** @jsxImportSource hono/jsx */
/**
 * C3/C2: a secret shown once. The panel is rendered hidden and empty; assets/app.js fills its
 * `[data-field]` slots from the API's answer (`data-then="show:#id"`) and reveals it. "Done"
 * reloads the page, so the secret leaves the DOM; the server never renders it.
 */
import type { Child } from "hono/jsx";

export function ShownOncePanel(p: { id: string; title: string; children?: Child }) {
  const head = `${p.id}-title`;
  return (
    <section class="secret" id={p.id} hidden aria-labelledby={head}>
      <h2 id={head} data-focus tabindex={-1}>
        {p.title}
      </h2>
      {p.children}
      <p class="once">
        <strong>Copy it now: it will not be shown again.</strong>
      </p>
      <button type="button" data-reload>
        Done
      </button>
    </section>
  );
}
