// Petrel Activity (A1): a status reason shown on hover or focus can be dismissed with Escape
// without moving focus (WCAG 1.4.13); it shows again when the label is left and re-entered.
document.addEventListener("keydown", (ev) => {
  if (ev.key !== "Escape") return;
  const label = document.activeElement?.closest?.(".status");
  if (label) label.classList.add("tip-dismissed");
  for (const el of document.querySelectorAll(".status:hover")) el.classList.add("tip-dismissed");
});
for (const type of ["focusout", "mouseout"])
  document.addEventListener(type, (ev) => {
    const label = ev.target.closest?.(".status");
    if (label && !label.contains(ev.relatedTarget)) label.classList.remove("tip-dismissed");
  });

// Recipient view (A1): opening a row's "More" loads the recipient's whole timeline, oldest first, from
// GET /v1/activity/{recipientId} (the session cookie authenticates it), once.
const esc = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
const when = (iso) => iso.replace("T", " ").slice(0, 19);
for (const d of document.querySelectorAll("details[data-timeline]"))
  d.addEventListener("toggle", async () => {
    if (!d.open || d.dataset.loaded) return;
    d.dataset.loaded = "1";
    const body = d.querySelector(".timeline-body");
    try {
      const res = await fetch(`/v1/activity/${encodeURIComponent(d.dataset.timeline)}`, {
        headers: { accept: "application/json" },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const { rows } = await res.json();
      const items = rows.map((r) => {
        const extra = [r.reason !== "none" ? r.reason : "", r.remoteReply, r.mxHost].filter(Boolean);
        return `<li data-status="${esc(r.status)}"><time datetime="${esc(r.time)}">${esc(when(r.time))}</time> <strong>${esc(r.status)}</strong>${extra.length ? ` — ${extra.map(esc).join(" · ")}` : ""}</li>`;
      });
      const ol = document.createElement("ol");
      ol.className = "timeline-list";
      ol.innerHTML = items.join("");
      body.replaceWith(ol);
    } catch (e) {
      body.insertAdjacentText("afterbegin", `Could not load the timeline (${e.message}). `);
    }
  });
