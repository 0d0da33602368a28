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
