// Petrel dashboard: the one client script of every page. A form with `data-api` sends its
// fields to /v1 as JSON with the session cookie, shows the API's `message` on error, and on
// success does what `data-then` says:
//   reload            reload the page
//   goto:/path/{f}    go to a path ({f} = a field of the JSON answer, URL-encoded)
//   show:#id          fill `[data-field=f]` inside #id with the answer's fields and reveal it
//                     (secrets shown once: the page never stores them)
// `data-confirm` asks first. Checkbox groups become arrays; `type=number` becomes a number.

function formJson(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") {
      if (el.dataset.array !== undefined) {
        out[el.name] = out[el.name] || [];
        if (el.checked) out[el.name].push(el.value);
      } else out[el.name] = el.checked;
      continue;
    }
    if (el.type === "radio") {
      if (el.checked) out[el.name] = el.value;
      continue;
    }
    if (el.value === "") continue;
    out[el.name] = el.type === "number" ? Number(el.value) : el.value;
  }
  return out;
}

function fill(template, data) {
  return template.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(data?.[k] ?? ""));
}

async function send(form) {
  const method = (form.dataset.method || "POST").toUpperCase();
  const url = form.dataset.api;
  const error = form.querySelector("[data-role=error]");
  const button = form.querySelector("button[type=submit], button:not([type])");
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
  if (error) error.textContent = "";
  if (button) button.disabled = true;
  try {
    const hasBody = method !== "GET" && method !== "DELETE";
    const res = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: hasBody
        ? { "content-type": "application/json", accept: "application/json" }
        : { accept: "application/json" },
      body: hasBody ? JSON.stringify(formJson(form)) : undefined,
    });
    const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
    if (!res.ok) {
      const msg = data.message || `The request failed (HTTP ${res.status}).`;
      if (error) error.textContent = msg;
      else window.alert(msg);
      return;
    }
    const then = form.dataset.then || "reload";
    if (then === "reload") window.location.reload();
    else if (then.startsWith("goto:")) window.location.assign(fill(then.slice(5), data));
    else if (then.startsWith("show:")) {
      const target = document.querySelector(then.slice(5));
      if (!target) return;
      for (const el of target.querySelectorAll("[data-field]")) el.textContent = data[el.dataset.field] ?? "";
      target.hidden = false;
      const focus = target.querySelector("[data-focus]") || target;
      if (!focus.hasAttribute("tabindex")) focus.setAttribute("tabindex", "-1");
      focus.focus();
      form.reset();
    }
  } catch (e) {
    if (error) error.textContent = `Network error: ${e.message}`;
  } finally {
    if (button) button.disabled = false;
  }
}

document.addEventListener("submit", (ev) => {
  const form = ev.target.closest?.("form[data-api]");
  if (!form) return;
  ev.preventDefault();
  send(form);
});

// Copy buttons: `data-copy="#id"` copies that element's text.
document.addEventListener("click", (ev) => {
  const b = ev.target.closest?.("[data-copy]");
  if (!b) return;
  const el = document.querySelector(b.dataset.copy);
  if (el && navigator.clipboard) navigator.clipboard.writeText(el.textContent.trim()).catch(() => {});
  b.textContent = "Copied";
});

// "Done" buttons on shown-once panels reload the page, so the secret is gone from the DOM.
document.addEventListener("click", (ev) => {
  const b = ev.target.closest?.("[data-reload]");
  if (b) window.location.reload();
});

// Phones: the menu button folds and unfolds the menu (app.css shows the button only on narrow
// screens, and only once this script runs: without it the menu simply stays open).
document.documentElement.classList.add("js");
document.addEventListener("click", (ev) => {
  const b = ev.target.closest?.(".menu-toggle");
  if (!b) return;
  const menu = document.getElementById(b.getAttribute("aria-controls"));
  const open = b.getAttribute("aria-expanded") !== "true";
  b.setAttribute("aria-expanded", String(open));
  menu?.classList.toggle("open", open);
});

// A success notice (`?done=…&name=…`, edge-api/web/notices.ts) is shown once: the address loses
// those parameters, so a reload or a bookmark does not repeat it.
if (document.querySelector("[data-notice]")) {
  const url = new URL(window.location.href);
  url.searchParams.delete("done");
  url.searchParams.delete("name");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
}
