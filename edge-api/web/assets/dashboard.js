// Petrel Dashboard (A4): draws the activity chart with Chart.js from the JSON block the page
// renders (#chart-data, the New series), and switches New/Cumulative without a reload: the
// buttons' aria-pressed, the container's data-view, the data table and the URL follow the view.
// Cumulative is the running sum of New. Without this script the buttons submit a GET form.
(() => {
  const box = document.getElementById("activity-chart");
  const source = document.getElementById("chart-data");
  if (!box || !source) return;
  const data = JSON.parse(source.textContent);
  const canvas = document.getElementById("activity-canvas");
  const buttons = document.querySelectorAll(".view-toggle button[name=view]");
  const table = document.getElementById("chart-table");
  // Series told apart by line style and point shape too, never by colour only.
  const SERIES = [
    { key: "recipients", label: "Recipients", color: "#0969da", dash: [], point: "circle" },
    { key: "delivered", label: "Delivered", color: "#1a7f37", dash: [6, 3], point: "rect" },
    { key: "softBounces", label: "Soft bounces", color: "#bc4c00", dash: [2, 2], point: "triangle" },
    { key: "hardBounces", label: "Hard bounces", color: "#cf222e", dash: [10, 4, 2, 4], point: "crossRot" },
  ];

  function pointsOf(view) {
    if (view !== "cumulative") return data.points;
    const acc = { recipients: 0, delivered: 0, softBounces: 0, hardBounces: 0 };
    return data.points.map((p) => {
      for (const s of SERIES) acc[s.key] += p[s.key];
      return { ...acc };
    });
  }

  let chart;
  function draw(view) {
    const points = pointsOf(view);
    const datasets = SERIES.map((s) => ({
      label: s.label,
      data: points.map((p) => p[s.key]),
      borderColor: s.color,
      backgroundColor: s.color,
      borderDash: s.dash,
      pointStyle: s.point,
      pointRadius: 3,
      tension: 0,
    }));
    if (typeof window.Chart === "function") {
      if (!chart)
        chart = new window.Chart(canvas, {
          type: "line",
          data: { labels: data.labels, datasets },
          options: {
            animation: false,
            responsive: true,
            maintainAspectRatio: false,
            interaction: { mode: "index", intersect: false },
            scales: {
              x: { ticks: { autoSkip: true, maxTicksLimit: 12, maxRotation: 0 } },
              y: { beginAtZero: true, ticks: { precision: 0 } },
            },
            plugins: { legend: { labels: { usePointStyle: true } } },
          },
        });
      else {
        chart.data.datasets.forEach((d, i) => {
          d.data = datasets[i].data;
        });
        chart.update();
      }
    }
    box.dataset.view = view;
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.value === view));
    for (const i of document.querySelectorAll("[data-view-input]")) i.value = view;
    if (table) {
      const words = table.querySelector("[data-view-words]");
      if (words) words.textContent = view;
      const rows = table.tBodies[0].rows;
      points.forEach((p, i) => {
        SERIES.forEach((s, j) => {
          if (rows[i]) rows[i].cells[j + 1].textContent = String(p[s.key]);
        });
      });
    }
  }

  for (const b of buttons)
    b.addEventListener("click", (ev) => {
      ev.preventDefault();
      draw(b.value);
      const url = new URL(window.location.href);
      url.searchParams.set("view", b.value);
      window.history.replaceState(null, "", url);
    });
  draw(box.dataset.view === "cumulative" ? "cumulative" : "new");
})();
