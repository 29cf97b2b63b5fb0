// Tern console behaviours. No inline script anywhere (CSP): pages carry data in attributes and in
// <script type="application/json"> blocks, and this file wires them up, also after htmx swaps.
(function () {
  "use strict";

  function renderCharts(root) {
    if (typeof window.Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.rendered) return;
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      canvas.dataset.rendered = "1";
      new window.Chart(canvas, {
        type: spec.type || "bar",
        data: { labels: spec.labels, datasets: spec.datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: spec.stacked ? { x: { stacked: true }, y: { stacked: true, beginAtZero: true } }
                               : { y: { beginAtZero: true } },
          plugins: { legend: { display: (spec.datasets || []).length > 1 } }
        }
      });
    });
  }

  function closeConfirmOnEscape(event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.confirm[open]").forEach(function (d) { d.open = false; });
  }

  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { renderCharts(event.target); });
  document.addEventListener("keydown", closeConfirmOnEscape);
})();
